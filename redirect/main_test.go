package redirect_test

import (
	"os"
	"testing"

	"github.com/rampart-mesh/rampart/redirect/internal/podtest"
)

func TestMain(m *testing.M) {
	podtest.MaybeHelper(map[string]podtest.Command{"attach": attachAndWait})
	os.Exit(m.Run())
}
