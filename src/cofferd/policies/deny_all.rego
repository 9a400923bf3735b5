# Built-in "deny_all" (resource or default release policy).
package policy

default allow := false
