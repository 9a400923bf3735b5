# Coffer's built-in release policy of a namespace whose owner set none
# (PERSONAS.md rule 3): every submodule of the token is affirming.
package policy

import rego.v1

default allow := false

allow if {
	count(input.submods) > 0
	every _, sm in input.submods {
		sm["ear.status"] == "affirming"
	}
}
