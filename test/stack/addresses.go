package stack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// A stack's addresses: 127.<block>.0.x for its load balancers and
// 127.<block>.1.x for its Pods, so that stacks of test binaries that run at
// once (go test runs packages in parallel) never share an address. The API
// server refuses loopback addresses in EndpointSlices, so a Pod's status
// shows 198.18.<block>.x instead (198.18.0.0/15 is set aside for network
// tests, RFC 2544), which Loopback maps back; nothing ever sends traffic to
// 198.18.x.

// addressBlock is a claimed block, held by a lock on a file until released
// or until the process ends.
type addressBlock struct {
	n    int
	lock *os.File
}

// claimAddressBlock takes the first free block of 1..250.
func claimAddressBlock() (*addressBlock, error) {
	for n := 1; n <= 250; n++ {
		f, err := os.OpenFile(filepath.Join(os.TempDir(), fmt.Sprintf("ftps-stack-addresses-%d.lock", n)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				continue
			}
			return nil, err
		}
		return &addressBlock{n: n, lock: f}, nil
	}
	return nil, errors.New("every loopback address block is taken by another stack")
}

func (b *addressBlock) release() {
	_ = b.lock.Close()
}

// loadBalancer is the address of the i-th load balancer.
func (b *addressBlock) loadBalancer(i int) string { return fmt.Sprintf("127.%d.0.%d", b.n, 2+i) }

// pod is the address of the i-th Pod.
func (b *addressBlock) pod(i int) string { return fmt.Sprintf("127.%d.1.%d", b.n, 10+i) }

// node is the process kubelet's own address, as its Node reports it.
func (b *addressBlock) node() string { return fmt.Sprintf("198.18.%d.1", b.n) }

// statusIP is how a Pod's loopback address 127.n.1.x shows in its status.
func statusIP(loopback string) string {
	parts := strings.Split(loopback, ".")
	if len(parts) != 4 || parts[0] != "127" {
		return loopback
	}
	return "198.18." + parts[1] + "." + parts[3]
}

// Loopback maps an address from a Pod's status (or an EndpointSlice) to the
// loopback address the Pod's process listens on.
func Loopback(statusAddr string) string {
	parts := strings.Split(statusAddr, ".")
	if len(parts) != 4 || parts[0] != "198" || parts[1] != "18" {
		return statusAddr
	}
	return "127." + parts[2] + ".1." + parts[3]
}
