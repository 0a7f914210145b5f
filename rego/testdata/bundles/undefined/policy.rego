# No rule named allow: the decision is undefined for every input.
package rampart.authz

something_else := true
