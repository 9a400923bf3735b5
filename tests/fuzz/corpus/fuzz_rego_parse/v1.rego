package p
import rego.v1
s contains x if { some x in [3, 1, 2]; x > 1 }
o[k] := v if { some k, v in {"a": 1} }
f(x) := y if { y := x * 2 } else := 0
e if { every x in [1, 2] { x > 0 } }
c := {k: v | some k, v in input; not startswith(k, "_")}
w if { f(1) with input as {} }
