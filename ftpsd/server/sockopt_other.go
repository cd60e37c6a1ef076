//go:build !linux

package server

import "net"

// lowWater: the socket options that pace uploads and downloads
// (SO_RCVLOWAT, TCP_NOTSENT_LOWAT) are set on Linux only.
type lowWater struct{}

func raiseLowWater(net.Conn) *lowWater { return nil }

func (*lowWater) trickling() bool { return false }

func limitUnsent(net.Conn) {}
