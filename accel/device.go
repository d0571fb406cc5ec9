package accel

import "github.com/gomlx/gomlx/backends"

func backendsDevice(i int) backends.DeviceNum { return backends.DeviceNum(i) }
