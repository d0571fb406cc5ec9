// Package cleanup removes the temporary files of unfinished atomic writes
// when the process is interrupted (SIGINT, SIGTERM), so an interrupted
// command leaves neither its output nor a hidden temporary file behind.
package cleanup

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

var (
	mu    sync.Mutex
	temps = map[string]struct{}{}
)

// Register records path as a temporary file to remove on interruption; call
// the returned function once the file is renamed into place or removed.
func Register(path string) (done func()) {
	mu.Lock()
	temps[path] = struct{}{}
	mu.Unlock()
	return func() {
		mu.Lock()
		delete(temps, path)
		mu.Unlock()
	}
}

// RemoveAll removes every registered file and returns how many it removed.
func RemoveAll() int {
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for p := range temps {
		if os.Remove(p) == nil {
			n++
		}
		delete(temps, p)
	}
	return n
}

// HandleSignals makes SIGINT and SIGTERM remove the registered files, print
// one line to w and exit with 128+signal (130 for SIGINT, 143 for SIGTERM).
func HandleSignals(w io.Writer, exit func(int)) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		n := RemoveAll()
		code := 130
		if sig == syscall.SIGTERM {
			code = 143
		}
		fmt.Fprintf(w, "w2st: interrupted (%v); removed %d unfinished temporary files\n", sig, n)
		exit(code)
	}()
}
