#!/usr/bin/python3
"""toml-test (TOML 1.0) through `coffer toml decode`.

usage: toml_conformance.py COFFER_BINARY

Runs every case listed in $COFFER_CONFORMANCE/toml/tests/files-toml-1.0.0:
valid/*.toml must exit 0 and print JSON equal to the expected valid/*.json,
invalid/*.toml must exit 1 with a message on stderr (a crash, a sanitizer
report or any other exit code is a failure). Values are compared the way
toml-test compares them: the same structure, the same type tag, then by
value for that type: integers and floats numerically (nan equals nan,
the sign of inf matters), date/times as instants or local values, strings
exactly. Exit 0 when everything passes, 1 otherwise, 77 when the suite is
absent.
"""
import json
import math
import os
import re
import subprocess
import sys

SKIP = 77


def parse_float(s):
    return float(s.replace('_', ''))  # accepts inf, +inf, -inf, nan


DT_RE = re.compile(
    r'^(?:(\d{4})-(\d{2})-(\d{2}))?(?:[Tt ]?(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?'
    r'([Zz]|[+-]\d{2}:\d{2})?$')


def days_from_civil(y, m, d):
    # proleptic Gregorian days since 1970-01-01 (H. Hinnant's algorithm)
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_dt(kind, s):
    """A comparable key for a toml-test date/time value, or None."""
    m = DT_RE.match(s)
    if not m:
        return None
    y, mo, d, h, mi, sec, frac, off = m.groups()
    has_date = y is not None
    has_time = h is not None
    want = {
        'datetime': (True, True, True),
        'datetime-local': (True, True, False),
        'date-local': (True, False, False),
        'time-local': (False, True, False),
    }.get(kind)
    if want is None or (has_date, has_time, off is not None) != want:
        return None
    ns = 0
    if frac:
        ns = int((frac + '000000000')[:9])  # nanosecond precision, like Go
    secs = 0
    if has_time:
        secs = int(h) * 3600 + int(mi) * 60 + int(sec or 0)
    if not has_date:
        return (secs, ns)
    days = days_from_civil(int(y), int(mo), int(d))
    if off is not None:
        offmin = 0
        if off not in ('Z', 'z'):
            offmin = int(off[1:3]) * 60 + int(off[4:6])
            if off[0] == '-':
                offmin = -offmin
        return (days * 86400 + secs - offmin * 60, ns)
    return (days, secs, ns)


def compare(want, have, path):
    """None when equal, else a description of the first difference."""
    if isinstance(want, dict) and set(want.keys()) == {'type', 'value'} \
            and isinstance(want.get('type'), str) and not isinstance(want.get('value'), (dict, list)):
        if not (isinstance(have, dict) and set(have.keys()) == {'type', 'value'}):
            return '%s: expected a %s value, got %r' % (path, want['type'], have)
        wt, ht = want['type'], have['type']
        wv, hv = want['value'], have['value']
        if wt != ht:
            return '%s: type %s, expected %s' % (path, ht, wt)
        if not isinstance(hv, str):
            return '%s: value is not a string: %r' % (path, hv)
        if wt == 'integer':
            try:
                ok = int(wv) == int(hv)
            except ValueError:
                ok = False
        elif wt == 'float':
            try:
                a, b = parse_float(wv), parse_float(hv)
                ok = (math.isnan(a) and math.isnan(b)) or a == b
            except ValueError:
                ok = False
        elif wt in ('datetime', 'datetime-local', 'date-local', 'time-local'):
            a, b = parse_dt(wt, wv), parse_dt(wt, hv)
            ok = a is not None and a == b
        else:  # string, bool
            ok = wv == hv
        if not ok:
            return '%s: %s value %r, expected %r' % (path, wt, hv, wv)
        return None
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return '%s: expected a table, got %r' % (path, have)
        if set(want.keys()) != set(have.keys()):
            return '%s: keys %s, expected %s' % (path, sorted(have.keys()), sorted(want.keys()))
        for k in want:
            r = compare(want[k], have[k], '%s.%s' % (path, k))
            if r:
                return r
        return None
    if isinstance(want, list):
        if not isinstance(have, list):
            return '%s: expected an array, got %r' % (path, have)
        if len(want) != len(have):
            return '%s: %d elements, expected %d' % (path, len(have), len(want))
        for i, (w, h) in enumerate(zip(want, have)):
            r = compare(w, h, '%s[%d]' % (path, i))
            if r:
                return r
        return None
    return '%s: unexpected expected-JSON node %r' % (path, want)


def run(binary, data):
    p = subprocess.run([binary, 'toml', 'decode'], input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stdout, p.stderr


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = sys.argv[1]
    conf = os.environ.get('COFFER_CONFORMANCE')
    if not conf:
        print('SKIPPED: COFFER_CONFORMANCE is not set', file=sys.stderr)
        return SKIP
    root = os.path.join(conf, 'toml', 'tests')
    listing = os.path.join(root, 'files-toml-1.0.0')
    if not os.path.isfile(listing):
        print('SKIPPED: %s is absent' % listing, file=sys.stderr)
        return SKIP
    if not os.access(binary, os.X_OK):
        print('FAIL: %s is not an executable (build the coffer target)' % binary,
              file=sys.stderr)
        return 1
    # the command's contract (CLI.md): usage errors exit 2, --help 0
    protocol_failures = []
    for args, want in ((['toml'], 2), (['toml', 'encode'], 2), (['toml', 'decode', 'x'], 2),
                       (['toml', '--help'], 0), (['toml', 'decode', '--help'], 0)):
        p = subprocess.run([binary] + args, input=b'', stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        if p.returncode != want:
            protocol_failures.append('coffer %s: exit %d, expected %d' %
                                     (' '.join(args), p.returncode, want))
    with open(listing) as f:
        cases = [l.strip() for l in f if l.strip().endswith('.toml')]
    counts = {'valid': [0, 0], 'invalid': [0, 0]}
    failures = protocol_failures
    for case in cases:
        kind = case.split('/', 1)[0]
        if kind not in counts:
            continue
        with open(os.path.join(root, case), 'rb') as f:
            data = f.read()
        counts[kind][1] += 1
        try:
            rc, out, err = run(binary, data)
        except subprocess.TimeoutExpired:
            failures.append('%s: timed out' % case)
            continue
        if kind == 'valid':
            if rc != 0:
                failures.append('%s: exit %d: %s' % (case, rc, err.decode(errors='replace').strip()))
                continue
            with open(os.path.join(root, case[:-5] + '.json'), 'rb') as f:
                want = json.load(f)
            try:
                have = json.loads(out)
            except ValueError as e:
                failures.append('%s: output is not JSON: %s' % (case, e))
                continue
            r = compare(want, have, '$')
            if r:
                failures.append('%s: %s' % (case, r))
                continue
        else:
            if rc != 1 or not err.strip() or out.strip():
                failures.append('%s: exit %d (expected 1 with a message), stderr %r' %
                                (case, rc, err.decode(errors='replace').strip()[:200]))
                continue
        counts[kind][0] += 1
    for f in failures:
        print('FAIL ' + f)
    print('toml-test 1.0.0: valid %d/%d, invalid %d/%d' %
          (counts['valid'][0], counts['valid'][1], counts['invalid'][0], counts['invalid'][1]))
    if counts['valid'][1] == 0 or counts['invalid'][1] == 0:
        print('FAIL: no cases found', file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
