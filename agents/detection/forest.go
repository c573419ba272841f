package detection

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Forest is an isolation forest (Liu, Ting and Zhou, 2008): points that
// random axis-parallel cuts isolate in few steps are anomalies. It scores
// a service's RED vector (rate, error ratio, p99 and its neighbours') as a
// whole, which catches combinations no single series shows: a normal rate
// with a normal p99 but both at once, say.
type Forest struct {
	trees  [][]fnode
	sample int
	dims   int
}

// fnode is a cut (feature ≥ 0) or a leaf (feature -1, size points). A cut
// keeps the range [lo, hi] its points had on the feature.
type fnode struct {
	feature     int16
	left, right int32
	split       float64
	lo, hi      float64
	size        int32
}

// outside is how far past a cut's range, in spreads of that range, a point
// counts as isolated by the cut at once. The classic forest sends a point
// beyond every value it was trained on down the outer branch with the
// extreme points, where it scores barely above them; a RED vector with a
// value never seen is exactly what must stand out.
const outside = 0.5

// TrainForest builds trees over random subsamples of data (each of the
// same length). A constant feature is never cut.
func TrainForest(data [][]float64, trees, sample int, rng *rand.Rand) (*Forest, error) {
	if len(data) < 2 {
		return nil, fmt.Errorf("isolation forest: need at least 2 points, have %d", len(data))
	}
	dims := len(data[0])
	for _, d := range data {
		if len(d) != dims {
			return nil, fmt.Errorf("isolation forest: points of %d and %d dimensions", dims, len(d))
		}
	}
	sample = min(sample, len(data))
	f := &Forest{sample: sample, dims: dims}
	limit := int(math.Ceil(math.Log2(float64(sample))))
	idx := make([]int, len(data))
	for i := range idx {
		idx[i] = i
	}
	for t := 0; t < trees; t++ {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		sub := append([]int(nil), idx[:sample]...)
		var nodes []fnode
		build(&nodes, data, sub, 0, limit, rng)
		f.trees = append(f.trees, nodes)
	}
	return f, nil
}

func build(nodes *[]fnode, data [][]float64, sub []int, depth, limit int, rng *rand.Rand) int32 {
	me := int32(len(*nodes))
	*nodes = append(*nodes, fnode{feature: -1, size: int32(len(sub))})
	if depth >= limit || len(sub) <= 1 {
		return me
	}
	// Pick a feature that varies within this node.
	dims := len(data[0])
	start := rng.IntN(dims)
	for k := 0; k < dims; k++ {
		feat := (start + k) % dims
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, i := range sub {
			lo, hi = math.Min(lo, data[i][feat]), math.Max(hi, data[i][feat])
		}
		if hi <= lo {
			continue
		}
		split := lo + rng.Float64()*(hi-lo)
		var left, right []int
		for _, i := range sub {
			if data[i][feat] < split {
				left = append(left, i)
			} else {
				right = append(right, i)
			}
		}
		l := build(nodes, data, left, depth+1, limit, rng)
		r := build(nodes, data, right, depth+1, limit, rng)
		(*nodes)[me] = fnode{feature: int16(feat), split: split, left: l, right: r, lo: lo, hi: hi}
		return me
	}
	return me
}

// avgPath is c(n), the average path length of an unsuccessful search in a
// binary search tree of n points: the depth a leaf of n points stands for.
func avgPath(n int) float64 {
	if n <= 1 {
		return 0
	}
	if n == 2 {
		return 1
	}
	h := math.Log(float64(n-1)) + 0.5772156649
	return 2*h - 2*float64(n-1)/float64(n)
}

// Score is 2^(-E[h(x)]/c(sample)): near 1 for points isolated at once,
// about 0.5 and below for ordinary ones.
func (f *Forest) Score(x []float64) float64 {
	if len(x) != f.dims {
		return 0
	}
	total := 0.0
	for _, nodes := range f.trees {
		depth, i := 0.0, int32(0)
		isolated := false
		for nodes[i].feature >= 0 {
			n := &nodes[i]
			v, margin := x[n.feature], outside*(n.hi-n.lo)
			if v < n.lo-margin || v > n.hi+margin {
				isolated = true
				depth++
				break
			}
			if v < n.split {
				i = nodes[i].left
			} else {
				i = nodes[i].right
			}
			depth++
		}
		if isolated {
			total += depth
			continue
		}
		total += depth + avgPath(int(nodes[i].size))
	}
	mean := total / float64(len(f.trees))
	return math.Pow(2, -mean/avgPath(f.sample))
}

// VectorDetector watches one multivariate series (a service's RED vector)
// with an isolation forest trained on its recent history and retrained
// every RetrainEvery points. Its memory is bounded by History vectors and
// the trees (Trees × 2·Sample nodes).
type VectorDetector struct {
	History, Sample, Trees, RetrainEvery, MinTrain int
	Threshold                                      float64

	ring   [][]float64
	next   int
	seen   int
	forest *Forest
	rng    *rand.Rand
}

// NewVectorDetector has the defaults: 512 vectors of history, 64 trees of
// 128-point samples, retrained every 360 points (an hour at 10 s), an
// anomaly at 0.75 and above.
func NewVectorDetector(seed uint64) *VectorDetector {
	return &VectorDetector{History: 512, Sample: 128, Trees: 64, RetrainEvery: 360, MinTrain: 64, Threshold: 0.75,
		rng: rand.New(rand.NewPCG(seed, 0x1f))}
}

// Observe scores x against the forest (not ready before the first
// training) and keeps it for the next.
func (d *VectorDetector) Observe(x []float64) Verdict {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Verdict{}
		}
	}
	var v Verdict
	if d.forest != nil {
		s := d.forest.Score(x)
		v = Verdict{Ready: true, Score: s, Expected: 0.5, Lower: 0, Upper: d.Threshold, Anomalous: s >= d.Threshold,
			Detector: "isolation-forest"}
	}
	cp := append([]float64(nil), x...)
	if len(d.ring) < d.History {
		d.ring = append(d.ring, cp)
	} else {
		d.ring[d.next] = cp
		d.next = (d.next + 1) % d.History
	}
	d.seen++
	if len(d.ring) >= d.MinTrain && (d.forest == nil || d.seen%d.RetrainEvery == 0) {
		if f, err := TrainForest(d.ring, d.Trees, d.Sample, d.rng); err == nil {
			d.forest = f
		}
	}
	return v
}
