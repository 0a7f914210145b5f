// Package starwars is the deathstar of Cilium's Star Wars demo, shared by
// `rampart demo` (which runs it in network namespaces) and the rampart-demo image
// (which runs it in a pod). It imports nothing but the standard library so the
// demo image stays small.
package starwars
