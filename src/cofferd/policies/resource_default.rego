# Coffer's built-in resource policy: upstream Trustee's default for EAR
# tokens (v0 syntax, as upstream ships it). input: the token claims; data:
# {"plugin", "resource-path": [repo, type, tag], "query"}.
package policy

default allow = false

allow {
	input["submods"]["cpu0"]["ear.status"] == "affirming"
}
