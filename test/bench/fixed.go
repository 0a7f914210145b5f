package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fixedLua makes wrk send one request per slot of a single schedule shared by all
// of its connections (one thread, so one Lua state): each connection, once its
// previous answer is in, takes the next slot and waits for it. wrk times each
// request from its actual send in µs; done() prints what the harness reads.
// LuaJIT's ffi gives a monotonic clock (wrk's Lua has none); wrk's timers have
// millisecond resolution, so a send is late or early by under a millisecond.
const fixedLua = `local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } rampart_ts;
int clock_gettime(int clk, rampart_ts *ts);
]]
local ts = ffi.new("rampart_ts")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval = %g
local slot = nil
function delay()
  local t = now_ms()
  if slot == nil then slot = t end
  slot = slot + interval
  if slot < t then return 0 end
  return slot - t
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RAMPART-FIXED %%d %%d %%d %%d %%d\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
`

// wrkPost is the request every wrk run sends (the same as request).
var wrkPost = fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Host\"] = \"deathstar\"\n", reqBody)

// fixedRate runs wrk -t1 -c<conns> at rate requests per second on one schedule
// and returns p50, p90, p99 in ms; any error or non-2xx answer fails the run.
func fixedRate(cfg config, dir, addr string) (p50, p90, p99 float64, err error) {
	script := filepath.Join(dir, "fixed.lua")
	lua := wrkPost + fmt.Sprintf(fixedLua, 1000/float64(cfg.rate))
	if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
		return 0, 0, 0, err
	}
	out, err := exec.Command(cfg.wrk, "-t1", "-c"+strconv.Itoa(cfg.conns), "-d"+cfg.fixed.String(),
		"--timeout", "5s", "-s", script, "http://"+addr+"/v1/request-landing").CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	s := string(out)
	i := strings.Index(s, "RAMPART-FIXED ")
	if i < 0 || strings.Contains(s, "Non-2xx") {
		return 0, 0, 0, fmt.Errorf("wrk fixed rate:\n%s", s)
	}
	var n, errs, a, b, c int
	if _, err := fmt.Sscanf(s[i:], "RAMPART-FIXED %d %d %d %d %d", &n, &errs, &a, &b, &c); err != nil {
		return 0, 0, 0, fmt.Errorf("wrk fixed rate: %w\n%s", err, s)
	}
	if errs != 0 {
		return 0, 0, 0, fmt.Errorf("wrk fixed rate: %d errors\n%s", errs, s)
	}
	if want := cfg.fixed.Seconds() * float64(cfg.rate); cfg.minDone >= 0 && (float64(n) < want*cfg.minDone || n == 0) {
		return 0, 0, 0, fmt.Errorf("wrk fixed rate: %d requests, want about %.0f (machine too busy?)", n, want)
	}
	ms := func(us int) float64 { return float64(us) / float64(time.Millisecond/time.Microsecond) }
	return ms(a), ms(b), ms(c), nil
}
