# Coffer's built-in attestation policy (id "default_cpu"): the semantics of
# upstream Trustee's default CPU policy for EAR tokens. A rule holds when each
# referenced claim is defined and not false. Input: the annotated evidence
# (input.sample, input.snp, input.tdx); data.reference: the reference values.
# Output: data.policy.trust_claims, AR4SI values (2..31 affirming, 32..95
# warning, 96..127 contraindicated). Where several TEEs' evidence is present,
# the first matching branch of each `else` chain wins (tdx, snp, sample).
package policy

import rego.v1

# 33: executables not recognized
default executables := 33

# 97: hardware not recognized
default hardware := 97

# 36: security-relevant configuration unavailable
default configuration := 36

##### executables: 3 = approved boot executables, 4 = approved runtime
executables := 3 if {
	tdx_rtmrs
	tdx_event("EV_EFI_BOOT_SERVICES_APPLICATION", null)
	tdx_event("EV_EVENT_TAG", "LOADED_IMAGE::LoadOptions")
} else := 4 if {
	tdx_rtmrs
} else := 3 if {
	input.snp
	input.snp.measurement
} else := 3 if {
	input.sample
	input.sample.launch_digest
}

tdx_rtmrs if {
	input.tdx
	input.tdx.quote.body.rtmr_1
	input.tdx.quote.body.rtmr_2
}

tdx_event(type, detail) if {
	some ev in input.tdx.uefi_event_logs
	ev.type_name == type
	detail_matches(ev, detail)
	some d in ev.digests
	d.digest
}

detail_matches(_, null)

detail_matches(ev, detail) if {
	detail != null
	ev.details.string == detail
}

##### hardware: 2 = genuine, supported hardware and firmware
hardware := 2 if {
	input.tdx.quote.header.tee_type == "81000000"
	input.tdx.quote.header.vendor_id == "939a7233f79c4ca9940a0db3957f0607"
	input.tdx.quote.body.mr_seam
	input.tdx.quote.body.tcb_svn
	input.tdx.quote.body.mr_td
	input.tdx.tcb_status
	input.tdx.collateral_expiration_status == "0"
} else := 2 if {
	input.snp
	input.snp.reported_tcb_bootloader
	input.snp.reported_tcb_microcode
	input.snp.reported_tcb_snp
	input.snp.reported_tcb_tee
} else := 2 if {
	input.sample
	input.sample.svn
	input.sample.platform_version.major
	input.sample.platform_version.minor
}

##### configuration: 2 = approved, 3 = not approved but no debug/migration
configuration := 2 if {
	input.tdx.td_attributes.debug == false
	input.tdx.quote.body.xfam
} else := 2 if {
	snp_locked
	input.snp.platform_smt_enabled
	input.snp.policy_abi_major
	input.snp.policy_abi_minor
	input.snp.policy_single_socket
	input.snp.policy_smt_allowed
} else := 3 if {
	snp_locked
}

snp_locked if {
	input.snp.policy_debug_allowed == false
	input.snp.policy_migrate_ma == false
}

trust_claims := {
	"configuration": configuration,
	"executables": executables,
	"hardware": hardware,
}
