package redirect_test

import (
	"os"
	"testing"

	"github.com/rampart-mesh/rampart/redirect/internal/netpod"
)

func TestMain(m *testing.M) {
	netpod.MaybeHelper(map[string]netpod.Command{"attach": attachAndWait})
	os.Exit(m.Run())
}
