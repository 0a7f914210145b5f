package hbone_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestLockOrder checks the package's source against the lock order in its
// doc: nothing takes the write lock (write, writeLast, writeFrames, wmu) or a
// stream's rlock or wlock while holding Conn.mu, inside a ...Locked function,
// or inside a callback that write runs under wmu. It follows each function's
// statements: a branch that returns drops what it did to the locks, one that
// goes on keeps it; a deferred Unlock holds the lock to the end.
func TestLockOrder(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var bad []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			lc := &lockCheck{fset: fset, fn: fd.Name.Name}
			lc.block(fd.Body.List, held{locked: strings.HasSuffix(fd.Name.Name, "Locked")})
			bad = append(bad, lc.bad...)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("lock order (see the package doc):\n%s", strings.Join(bad, "\n"))
	}
}

// TestLockOrderCatches makes sure the check sees each kind of violation.
func TestLockOrderCatches(t *testing.T) {
	for _, src := range []string{
		`func (c *Conn) f() { c.mu.Lock(); c.write(nil); c.mu.Unlock() }`,
		`func (c *Conn) f() { c.mu.Lock(); defer c.mu.Unlock(); if x { return }; s.wlock.Lock() }`,
		`func (c *Conn) f() { c.mu.Lock(); if x { c.mu.Unlock(); return }; c.writeLast(nil) }`,
		`func (c *Conn) fLocked() { c.wmu.Lock() }`,
		`func (c *Conn) f() { c.write(func(fr *http2.Framer) error { s.rlock.Lock(); return nil }) }`,
	} {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", "package x\n"+src, 0)
		if err != nil {
			t.Fatal(err)
		}
		fd := f.Decls[0].(*ast.FuncDecl)
		lc := &lockCheck{fset: fset, fn: fd.Name.Name}
		lc.block(fd.Body.List, held{locked: strings.HasSuffix(fd.Name.Name, "Locked")})
		if len(lc.bad) == 0 {
			t.Errorf("not caught: %s", src)
		}
	}
	fset := token.NewFileSet()
	ok := `func (c *Conn) f() { c.mu.Lock(); if x { c.mu.Unlock(); c.write(nil); return }; c.mu.Unlock(); c.write(func(*http2.Framer) error { c.mu.Lock(); c.mu.Unlock(); return nil }) }`
	f, _ := parser.ParseFile(fset, "x.go", "package x\n"+ok, 0)
	lc := &lockCheck{fset: fset, fn: "f"}
	lc.block(f.Decls[0].(*ast.FuncDecl).Body.List, held{})
	if len(lc.bad) > 0 {
		t.Errorf("false alarm: %v", lc.bad)
	}
}

// held is what the statement being checked runs under.
type held struct {
	mu     bool // Conn.mu
	wmu    bool // inside a callback of write
	locked bool // inside a ...Locked function
}

func (h held) any() bool { return h.mu || h.wmu || h.locked }

type lockCheck struct {
	fset *token.FileSet
	fn   string
	bad  []string
}

// block checks statements in order and returns what is held after them.
func (lc *lockCheck) block(stmts []ast.Stmt, h held) held {
	for _, s := range stmts {
		h = lc.stmt(s, h)
	}
	return h
}

func (lc *lockCheck) stmt(s ast.Stmt, h held) held {
	switch s := s.(type) {
	case *ast.ExprStmt:
		lc.expr(s.X, h)
		switch lockCall(s.X) {
		case "mu.Lock":
			h.mu = true
		case "mu.Unlock":
			h.mu = false
		}
	case *ast.DeferStmt:
		if lockCall(s.Call) != "mu.Unlock" {
			lc.expr(s.Call, held{}) // runs at return, when the body has let go
		}
	case *ast.BlockStmt:
		return lc.block(s.List, h)
	case *ast.IfStmt:
		if s.Init != nil {
			h = lc.stmt(s.Init, h)
		}
		lc.expr(s.Cond, h)
		outs := []held{lc.branch(s.Body.List, h)}
		if s.Else != nil {
			outs = append(outs, lc.branch([]ast.Stmt{s.Else}, h))
		} else {
			outs = append(outs, h)
		}
		return merge(h, outs)
	case *ast.ForStmt:
		if s.Init != nil {
			h = lc.stmt(s.Init, h)
		}
		if s.Cond != nil {
			lc.expr(s.Cond, h)
		}
		return merge(h, []held{h, lc.branch(s.Body.List, h)})
	case *ast.RangeStmt:
		lc.expr(s.X, h)
		return merge(h, []held{h, lc.branch(s.Body.List, h)})
	case *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
		var body *ast.BlockStmt
		switch s := s.(type) {
		case *ast.SwitchStmt:
			if s.Tag != nil {
				lc.expr(s.Tag, h)
			}
			body = s.Body
		case *ast.TypeSwitchStmt:
			body = s.Body
		case *ast.SelectStmt:
			body = s.Body
		}
		outs := []held{h}
		for _, c := range body.List {
			switch c := c.(type) {
			case *ast.CaseClause:
				for _, e := range c.List {
					lc.expr(e, h)
				}
				outs = append(outs, lc.branch(c.Body, h))
			case *ast.CommClause:
				outs = append(outs, lc.branch(c.Body, h))
			}
		}
		return merge(h, outs)
	default:
		lc.expr(s, h)
	}
	return h
}

// branch checks a branch; one that ends in return, panic, continue or break
// leaves what follows it as it found it (nil: no effect).
func (lc *lockCheck) branch(stmts []ast.Stmt, h held) held {
	out := lc.block(stmts, h)
	if len(stmts) > 0 {
		switch last := stmts[len(stmts)-1].(type) {
		case *ast.ReturnStmt, *ast.BranchStmt:
			return h
		case *ast.ExprStmt:
			if c, ok := last.X.(*ast.CallExpr); ok {
				if id, ok := c.Fun.(*ast.Ident); ok && id.Name == "panic" {
					return h
				}
			}
		}
	}
	return out
}

// merge: after branches, mu counts as held when any branch that goes on left it held.
func merge(h held, outs []held) held {
	h.mu = false
	for _, o := range outs {
		h.mu = h.mu || o.mu
	}
	return h
}

// expr reports forbidden calls in e; function literals are checked on their
// own: a callback given to write runs under wmu, any other later, unlocked.
func (lc *lockCheck) expr(e ast.Node, h held) {
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			lc.block(n.Body.List, held{})
			return false
		case *ast.CallExpr:
			name := lockCall(n)
			if h.any() && (name == "write" || name == "wmu.Lock" || name == "rlock.Lock" || name == "wlock.Lock") {
				lc.bad = append(lc.bad, fmt.Sprintf("%s: %s calls %s under %s", lc.fset.Position(n.Pos()), lc.fn, name, h.what()))
			}
			if name == "write" {
				for _, a := range n.Args {
					if fl, ok := a.(*ast.FuncLit); ok {
						lc.block(fl.Body.List, held{wmu: true})
					} else {
						lc.expr(a, h)
					}
				}
				return false
			}
		}
		return true
	})
}

func (h held) what() string {
	switch {
	case h.mu:
		return "Conn.mu"
	case h.wmu:
		return "wmu (a write callback)"
	}
	return "the lock of a ...Locked function"
}

// lockCall names the calls the check cares about: "write" for a Conn's
// write, writeLast and writeFrames, "mu.Lock" for x.mu.Lock, and so on; "" else.
func lockCall(e ast.Expr) string {
	c, ok := e.(*ast.CallExpr)
	if !ok {
		return ""
	}
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	switch sel.Sel.Name {
	case "write", "writeLast", "writeFrames":
		if isConn(sel.X) { // not recvBuf.write
			return "write"
		}
	case "Lock", "Unlock":
		if inner, ok := sel.X.(*ast.SelectorExpr); ok {
			switch inner.Sel.Name {
			case "mu", "wmu", "rlock", "wlock":
				return inner.Sel.Name + "." + sel.Sel.Name
			}
		}
	}
	return ""
}

// isConn reports whether e names a *Conn as this package does: c, or s.c.
func isConn(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "c"
	case *ast.SelectorExpr:
		return e.Sel.Name == "c"
	}
	return false
}
