package redirect

// The objects are committed so that building needs no clang; `make generate`
// regenerates them, and TestObjectsFresh fails when they are stale.
// The include path finds asm/types.h from Debian's multiarch headers.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" -target bpfel -go-package redirect -type config -type addr -type lpm6 -type pair capture capture.c
//go:generate sh -c "sha256sum capture.c maps.h > capture_sources.sha256"
