package podtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
)

// Listen opens a TCP listener with MPTCP off: the kernel refuses MPTCP sockets in a
// sockhash or sockmap, and Go listeners default to MPTCP.
func Listen(addr string) (*net.TCPListener, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	return l.(*net.TCPListener), nil
}

// serve answers each connection with "<listener> <SO_ORIGINAL_DST> <peer>\n".
func serve(addrs []string) error {
	for _, a := range addrs {
		l, err := Listen(a)
		if err != nil {
			return err
		}
		go acceptLoop(l, a)
	}
	fmt.Println("READY")
	return waitSignal()
}

func acceptLoop(l *net.TCPListener, name string) {
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			orig := "-"
			if ap, err := OrigDst(c); err == nil {
				orig = ap.String()
			}
			fmt.Fprintf(c, "%s %s %s\n", name, orig, c.RemoteAddr())
		}()
	}
}

func waitSignal() error {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); ch <- syscall.SIGTERM }()
	<-ch
	return nil
}

func udpEcho(args []string) error {
	pc, err := net.ListenPacket("udp", args[0])
	if err != nil {
		return err
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(fmt.Sprintf("udp %s %s", args[0], buf[:n])), from)
		}
	}()
	fmt.Println("READY")
	return waitSignal()
}

// echoServe echoes bytes back (the sk_msg experiment's proxy side): with io.Copy,
// which splices on Linux, or with "loop" as args[1], a plain read/write loop.
func echoServe(args []string) error {
	l, err := Listen(args[0])
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go echo(c, len(args) > 1 && args[1] == "loop")
		}
	}()
	fmt.Println("READY")
	return waitSignal()
}

func echo(c net.Conn, loop bool) {
	defer c.Close()
	if !loop {
		_, _ = io.Copy(c, c)
		return
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}
