package ingest

import (
	"sync"
	"time"

	"github.com/inquest/inquest/domain"
)

// deadBudget caps the bytes of dead letters each tenant may add per hour:
// refused data is a write path too, and a client sending garbage must not
// fill the disk. Dead letters also count against the tenant's daily byte
// quota. What is over either is not kept, only counted.
type deadBudget struct {
	perHour int64
	mu      sync.Mutex
	hour    int64
	used    map[string]int64
}

// keepDead takes the dead letters that fit the tenant's hourly cap and,
// when charge is set (a payload no request admitted), its daily byte
// quota; the rest are dropped and counted. Records refused from an
// admitted request were charged with it.
func (p *Pipeline) keepDead(dls []domain.DeadLetter, now time.Time, charge bool) []domain.DeadLetter {
	b := &p.dead
	b.mu.Lock()
	defer b.mu.Unlock()
	if h := now.Unix() / 3600; h != b.hour {
		b.hour, b.used = h, map[string]int64{}
	}
	kept := dls[:0:0]
	for _, d := range dls {
		n := int64(len(d.Payload) + len(d.Reason))
		if b.perHour > 0 && b.used[d.Tenant]+n > b.perHour {
			p.deadDropped.WithLabelValues("hourly_cap").Inc()
			continue
		}
		if charge && p.quotas.Admit(d.Tenant, 0, n) != nil {
			p.deadDropped.WithLabelValues("quota").Inc()
			continue
		}
		b.used[d.Tenant] += n
		kept = append(kept, d)
	}
	return kept
}
