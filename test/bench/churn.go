package main

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"
)

// closeRequest is request with Connection: close: the churn workload opens a new
// TCP connection for each one.
var closeRequest = []byte("POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nConnection: close\r\n" +
	"Content-Type: application/json\r\nContent-Length: " + fmt.Sprint(len(reqBody)) + "\r\n\r\n" + reqBody)

// churn opens a new connection per request at rate evenly spaced requests per
// second for d, and returns p50 and p90 in ms from dial to the last byte of the
// answer, and how many connections it made. Each request runs on its own
// goroutine so a slow one does not delay the schedule; all must succeed.
func churn(addr string, rate int, d time.Duration) (p50, p90 float64, n int, err error) {
	n = max(1, int(d.Seconds()*float64(rate)))
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now().Add(20 * time.Millisecond)
	for i := range n {
		waitUntil(start.Add(time.Duration(i) * interval))
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[i], errs[i] = oneConn(addr)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, 0, n, err
		}
	}
	slices.Sort(lat)
	ms := func(p float64) float64 { return float64(percentile(lat, p)) / 1e6 }
	return ms(0.50), ms(0.90), n, nil
}

func oneConn(addr string) (time.Duration, error) {
	t0 := time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(t0.Add(5 * time.Second))
	if _, err := c.Write(closeRequest); err != nil {
		return 0, err
	}
	if err := readResponse(bufio.NewReaderSize(c, 4<<10)); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// waitUntil sleeps to just before t, then spins: timer wake-ups are late by tens
// of µs, which would blur the schedule.
func waitUntil(t time.Time) {
	if d := time.Until(t) - 100*time.Microsecond; d > 0 {
		time.Sleep(d)
	}
	for time.Now().Before(t) {
	}
}
