// Package test holds Rampart's end-to-end harness and tests: pods as network
// namespaces with their own cgroups, real kernel capture, real processes. Nothing
// imports it.
package test
