# A decision that is neither boolean nor object.
package rampart.authz

allow := "yes"
