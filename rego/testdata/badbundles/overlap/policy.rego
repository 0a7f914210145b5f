# Claims all of data.rampart, which the active starwars bundle already owns in part.
package rampart.other

x := 1
