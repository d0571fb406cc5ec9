//go:build noxla

package accel

import "fmt"

// XLAAvailable reports whether this binary was built with the XLA backend (cgo).
const XLAAvailable = false

func disableAutoInstall() {}

func openXLA(spec Spec) (*Backend, error) {
	return nil, fmt.Errorf("backend %s: this w2st binary was built with -tags noxla (pure Go, CPU only); rebuild with cgo and without noxla for XLA/PJRT backends", spec)
}
