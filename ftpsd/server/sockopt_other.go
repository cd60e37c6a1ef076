//go:build !linux

package server

import (
	"errors"
	"net"
)

// lowWater: the socket options that pace uploads and downloads
// (SO_RCVLOWAT, TCP_NOTSENT_LOWAT) are set on Linux only.
type lowWater struct{}

func newLowWater(net.Conn) *lowWater { return nil }

func raiseLowWater(net.Conn) *lowWater { return nil }

func (*lowWater) set(int) error { return errors.ErrUnsupported }

func (*lowWater) trickling() bool { return false }

func limitUnsent(net.Conn) {}
