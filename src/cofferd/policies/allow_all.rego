# Built-in "allow_all" (resource or default release policy; tests and --dev).
package policy

default allow := true
