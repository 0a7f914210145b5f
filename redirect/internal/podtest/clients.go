package podtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// dial connects, reads the server's answer line and reports it with getpeername.
func dial(args []string) error {
	printJSON(dialOnce(args[0]))
	return nil
}

// dialAs drops to uid args[0] first (all threads), as the proxy's user 1337 would run.
func dialAs(args []string) error {
	uid, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	if err := syscall.Setuid(uid); err != nil {
		return err
	}
	printJSON(dialOnce(args[1]))
	return nil
}

// dialFrom dials from source port args[0] (SO_REUSEADDR), as an app that picks its
// own port would.
func dialFrom(args []string) error {
	port, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{Port: port}, Control: reuseAddr}
	printJSON(dialWith(d, args[1]))
	return nil
}

func reuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	return errors.Join(err, serr)
}

func dialOnce(addr string) Result {
	return dialWith(net.Dialer{Timeout: 3 * time.Second}, addr)
}

func dialWith(d net.Dialer, addr string) Result {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return Result{Err: err.Error()}
	}
	defer c.Close()
	var r Result
	if p, err := Peer(c.(*net.TCPConn)); err == nil {
		r.Peer = p.String()
	}
	if l, err := Local(c.(*net.TCPConn)); err == nil {
		r.Local = l.String()
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	r.Line = strings.TrimSpace(line)
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

// dialMany opens N connections at once to host:base..base+N-1 and counts the answers
// whose SO_ORIGINAL_DST is the address dialled. Prints "ok=<n> <first failure>".
func dialMany(args []string) error {
	n, _ := strconv.Atoi(args[0])
	host, err := netip.ParseAddr(args[1])
	if err != nil {
		return err
	}
	base, _ := strconv.Atoi(args[2])
	var mu sync.Mutex
	ok, first := 0, ""
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			want := netip.AddrPortFrom(host, uint16(base+i)).String()
			r := dialOnce(want)
			s, perr := ParseServed(r.Line)
			mu.Lock()
			defer mu.Unlock()
			if r.Err == "" && perr == nil && s.OrigDst == want && r.Peer == want {
				ok++
			} else if first == "" {
				first = fmt.Sprintf("%s: %+v %v", want, r, perr)
			}
		})
	}
	close(start)
	wg.Wait()
	fmt.Printf("ok=%d %s\n", ok, strings.ReplaceAll(first, "\n", " "))
	return nil
}

func udpDial(args []string) error {
	c, err := net.Dial("udp", args[0])
	if err != nil {
		printJSON(Result{Err: err.Error()})
		return nil
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	_, _ = c.Write([]byte("ping"))
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	r := Result{Line: string(buf[:n])}
	if err != nil {
		r.Err = err.Error()
	}
	printJSON(r)
	return nil
}

// benchDial reads a count per stdin line, then does that many connect + read the
// first byte + close, and prints "done" (or the first error).
func benchDial(args []string) error {
	fmt.Println("READY")
	return perLine(func(n int) error {
		buf := make([]byte, 1)
		for range n {
			c, err := net.Dial("tcp", args[0])
			if err != nil {
				return err
			}
			_, err = io.ReadFull(c, buf)
			c.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// benchEcho keeps one connection and does that many round trips of size bytes.
func benchEcho(args []string) error {
	size, _ := strconv.Atoi(args[1])
	c, err := net.Dial("tcp", args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("READY")
	buf := make([]byte, size)
	return perLine(func(n int) error {
		for range n {
			if _, err := c.Write(buf); err != nil {
				return err
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				return err
			}
		}
		return nil
	})
}

func perLine(run func(n int) error) error {
	s := bufio.NewScanner(os.Stdin)
	for s.Scan() {
		n, err := strconv.Atoi(strings.TrimSpace(s.Text()))
		if err != nil {
			return errors.New("bench: want a count per line")
		}
		if err := run(n); err != nil {
			fmt.Println("error", err)
			continue
		}
		fmt.Println("done")
	}
	return nil
}
