// Package policies embeds the Rego bundles shipped with Rampart (starwars,
// networkpolicy, lib) so the CLI and tests can load them without a file system path.
package policies
