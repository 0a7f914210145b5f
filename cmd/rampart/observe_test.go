package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestObserve(t *testing.T) {
	log, err := os.ReadFile(starwarsLog)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/decisions" {
			http.NotFound(w, r)
			return
		}
		w.Write(log)
	}))
	defer srv.Close()
	admin := strings.TrimPrefix(srv.URL, "http://")
	for _, c := range []struct {
		args []string
		rows int
		want string
	}{
		{[]string{"--log", starwarsLog}, 63, "default/tiefighter  default/deathstar  POST    /v1/request-landing?bay=0"},
		{[]string{"--admin", admin}, 63, "observe-only"},
		{[]string{"--admin", admin, "--from", "ops"}, 8, "default/ops"},
		{[]string{"--log", starwarsLog, "--path", "/v1/landings/{uuid}"}, 5, "/v1/landings/6f1c2a01-"},
		{[]string{"--log", starwarsLog, "--verdict", "denied"}, 0, "VERDICT"},
		{[]string{"--log", starwarsLog, "-n", "kube-system"}, 0, "SOURCE"},
		{[]string{"--log", "../../rego/replay/testdata/starwars-shadow.log", "--disagree"}, 2, "default/xwing"},
	} {
		out, err := run(t, "", append([]string{"observe"}, c.args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", c.args, err, out)
		}
		if n := strings.Count(out, "\n") - 1; n != c.rows || !strings.Contains(out, c.want) {
			t.Errorf("%v: %d rows, want %d with %q:\n%s", c.args, n, c.rows, c.want, out)
		}
	}
	if _, err := run(t, "", "observe", "--log", starwarsLog, "--admin", admin); err == nil {
		t.Error("--log with --admin accepted")
	}
}
