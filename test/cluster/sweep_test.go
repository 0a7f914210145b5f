package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/cluster"
)

// imagesEnv hands the child the image layout the shared cluster built.
const imagesEnv = "RAMPART_CLUSTER_IMAGES"

// childUp is the line the child prints once its cluster runs a pod.
const childUp = "CHILD-UP "

// TestSweepAfterSIGKILL brings a second cluster up in a child process, runs a
// pod on it (shims, overlay mounts, pod cgroups, a CNI netns), SIGKILLs the
// child, and checks that what it left (processes, netns, link, cgroups, mounts,
// run folder) is there and that a sweep, as the next Start or
// `make cluster-down` does, removes all of it.
func TestSweepAfterSIGKILL(t *testing.T) {
	c := need(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChild$", "-test.v", "-test.timeout=4m")
	cmd.Env = append(os.Environ(), childEnv+"=1", imagesEnv+"="+c.Images)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	name := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), childUp); ok {
			name = n
			break
		}
		t.Log("child:", sc.Text())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if name == "" {
		t.Fatal("the child never brought its cluster up")
	}
	left := cluster.Leftovers(cluster.DefaultBaseDir, name)
	for _, want := range []string{"process ", "netns ", "link ", "cgroup ", "mount ", "run folder "} {
		if !hasPrefix(left, want) {
			t.Errorf("after SIGKILL, expected a %q left behind, found %v", want, left)
		}
	}
	if err := cluster.Sweep(cluster.DefaultBaseDir); err != nil {
		t.Errorf("sweep: %v", err)
	}
	if left := cluster.Leftovers(cluster.DefaultBaseDir, name); len(left) > 0 {
		t.Errorf("sweep left behind: %v", left)
	}
}

func hasPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestChild is the child of TestSweepAfterSIGKILL: it starts a cluster, runs a
// pod, reports and waits to be killed.
func TestChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("only as the child of TestSweepAfterSIGKILL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Options{Images: os.Getenv(imagesEnv), Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	create(ctx, t, c, deathstar("default", c.Registry+"/rampart-demo:"+c.Tag))
	waitReady(ctx, t, c, "default", "deathstar")
	fmt.Println(childUp + c.Name)
	<-ctx.Done() // killed long before
}
