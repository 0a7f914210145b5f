package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// kind is one watched collection.
type kind struct {
	name   string // "pods", for errors
	path   string // collection URL path
	sample object // an empty object of the kind, for store.replace
	decode func(json.RawMessage) (object, error)

	once    sync.Once
	synced  chan struct{} // closed after the first full list
	mu      sync.Mutex
	lastErr error // why the last list or watch failed
}

// run lists the collection, then watches it from the list's resourceVersion,
// relisting when the server says that version is gone, until ctx ends. Failures
// back off (0.5 s doubling to 30 s, jittered); the last good state stays served.
func (k *Resolver) run(ctx context.Context, kd *kind) {
	wait := 500 * time.Millisecond
	for ctx.Err() == nil {
		rv, err := k.relist(ctx, kd)
		for err == nil && ctx.Err() == nil {
			kd.once.Do(func() { close(kd.synced) })
			wait = 500 * time.Millisecond
			rv, err = k.client.watch(ctx, kd.path, rv, k.opts.WatchTimeout, func(ev event) (string, error) { return k.apply(kd, ev) })
			if err == nil {
				k.opts.Logger.Debug("kube discovery: watch ended, resuming", "kind", kd.name, "resourceVersion", rv)
			}
		}
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, errGone) {
			k.failed(kd, err)
			sleep(ctx, wait/2+rand.N(wait/2))
			wait = min(2*wait, 30*time.Second)
		}
	}
}

// relist replaces the kind's objects with a fresh list and returns its version.
func (k *Resolver) relist(ctx context.Context, kd *kind) (string, error) {
	var objs []object
	rv, err := k.client.list(ctx, kd.path, func(raw json.RawMessage) error {
		o, err := kd.decode(raw)
		objs = append(objs, o)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("list %s: %w", kd.name, err)
	}
	k.st.mu.Lock()
	k.st.replace(kd.sample, objs)
	k.st.mu.Unlock()
	return rv, nil
}

// apply stores one watch event and returns the resourceVersion it carries.
func (k *Resolver) apply(kd *kind, ev event) (string, error) {
	switch ev.Type {
	case "ADDED", "MODIFIED", "DELETED":
		o, err := kd.decode(ev.Object)
		if err != nil {
			return "", fmt.Errorf("watch %s: decode: %w", kd.name, err)
		}
		k.st.mu.Lock()
		if ev.Type == "DELETED" {
			k.st.del(o)
		} else {
			k.st.set(o)
		}
		k.st.mu.Unlock()
		_, rv := o.ident()
		return rv, nil
	case "BOOKMARK":
		var b struct {
			Metadata objectMeta `json:"metadata"`
		}
		err := json.Unmarshal(ev.Object, &b)
		return b.Metadata.ResourceVersion, err
	case "ERROR":
		var st struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(ev.Object, &st)
		if st.Code == 410 {
			return "", errGone
		}
		return "", &StatusError{Path: kd.path, Code: st.Code, Message: st.Message}
	}
	return "", fmt.Errorf("watch %s: unknown event type %q", kd.name, ev.Type)
}

func (k *Resolver) failed(kd *kind, err error) {
	kd.mu.Lock()
	kd.lastErr = err
	kd.mu.Unlock()
	k.opts.Logger.Warn("kube discovery: retrying", "kind", kd.name, "err", err)
	var se *StatusError
	if errors.As(err, &se) && se.Permanent() {
		k.fatalOnce.Do(func() { k.fatalErr = err; close(k.fatal) })
	}
}

func (kd *kind) err() error {
	kd.mu.Lock()
	defer kd.mu.Unlock()
	return kd.lastErr
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
