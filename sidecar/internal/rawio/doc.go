// Package rawio reads and writes TCP sockets with raw system calls, waiting for
// readiness through the runtime's network poller as the net package does.
//
// Why: every system call made through package syscall (net.Conn's Read and
// Write among them) first tells the Go scheduler it is entering a system call,
// and that wakes the runtime's monitor thread (sysmon) from its deep sleep if
// the process had gone idle. The monitor then polls every 20 µs for as long as
// the process is busy. A proxy with one thread (GOMAXPROCS=1) at a moderate
// rate goes idle between most network events, so each of them paid a futex
// wake-up, a few monitor sleeps and their context switches: measured at 200 new
// connections per second, about a quarter of each proxy's CPU (test/bench).
// A non-blocking socket's read or write never blocks, so it needs none of the
// scheduler's system-call bookkeeping; made raw, it leaves the monitor asleep.
//
// What stays: deadlines, Close, CloseWrite and every other method are the
// *net.TCPConn's own, and a read or write that would block waits in the
// poller exactly as before. The monitor still wakes on the process's other
// system calls (accept, dial, file I/O) and on timers, and goroutines still yield
// where the code yields; what the monitor adds while it is awake is the forced
// preemption of a goroutine that runs for 10 ms without yielding, and that
// now waits for the next such wake-up.
package rawio
