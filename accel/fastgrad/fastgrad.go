// Package fastgrad replaces three gradient (VJP) rules of GoMLX v0.26.0 that are
// unusable for transformer training:
//
//   - DotGeneral and Dot: v0.26.0 builds their gradients as a broadcast Mul followed
//     by ReduceSum, which materialises [batch, crossL, crossR, contracting] tensors.
//     Here they are built as DotGeneral (GEMM) plus a Transpose.
//   - Slice: v0.26.0 uses Pad, which the pure-Go backend does not implement. Here
//     the gradient is the incoming gradient concatenated with zero blocks
//     (stride-1 slices; strided slices keep the original rule).
//
// Install must be called once before any graph is built; accel.Open does so.
// The original rules stay available through [Original] so tests can compare.
package fastgrad

import (
	"reflect"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

var (
	once     sync.Once
	original map[graph.NodeType]graph.VJP
)

// Install registers the replacement VJPs (once; later calls do nothing).
func Install() {
	once.Do(func() {
		original = make(map[graph.NodeType]graph.VJP, 3)
		for _, t := range []graph.NodeType{graph.NodeTypeDotGeneral, graph.NodeTypeDot, graph.NodeTypeSlice} {
			original[t] = graph.VJPRegistration[t]
		}
		graph.VJPRegistration[graph.NodeTypeDotGeneral] = dotGeneralVJP
		graph.VJPRegistration[graph.NodeTypeDot] = dotVJP
		graph.VJPRegistration[graph.NodeTypeSlice] = sliceVJP
	})
}

// Original returns GoMLX's own VJP for t as it was before Install, or nil if
// Install has not run or t was not replaced.
func Original(t graph.NodeType) graph.VJP {
	if original == nil {
		return nil
	}
	return original[t]
}

// Replaced reports whether the VJP currently registered for t is ours.
func Replaced(t graph.NodeType) bool {
	if original == nil {
		return false
	}
	_, ok := original[t]
	return ok
}

// nodeParam reads a field of the node's (unexported) input-parameters struct.
// It panics (inside graph building, where GoMLX reports panics as errors) if
// the GoMLX internals changed shape; the tests catch that on a version bump.
func nodeParam(n *graph.Node, name string) reflect.Value {
	v := reflect.ValueOf(n).Elem().FieldByName("inputs")
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	f := v.FieldByName(name)
	if !f.IsValid() {
		panic("fastgrad: GoMLX node internals changed: no field " + name)
	}
	return f
}

func ints(v reflect.Value) []int {
	out := make([]int, v.Len())
	for i := range out {
		out[i] = int(v.Index(i).Int())
	}
	return out
}

// crossAxes returns the axes of a rank-r operand that are neither contracting nor batch.
func crossAxes(rank int, contracting, batch []int) []int {
	var out []int
	for a := 0; a < rank; a++ {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			out = append(out, a)
		}
	}
	return out
}

func seq(start, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = start + i
	}
	return out
}

// operandGrad computes the gradient with respect to one DotGeneral operand ("this"),
// given the output gradient v and the other operand.
//
// DotGeneral's output axes are [batch..., thisCross..., otherCross...] (for the lhs;
// for the rhs the cross blocks swap places, which vOtherCross encodes). The gradient
// contracts v's other-cross axes with the other operand's cross axes, keeping batch
// axes as batch; the result has axes [batch, thisCross, other's contracting axes in
// ascending order], which are then transposed back to this operand's layout.
func operandGrad(v, other *graph.Node, rank int, thisC, thisB, thisX, otherC, otherB, otherX, vOtherCross []int) *graph.Node {
	nb := len(thisB)
	g := graph.DotGeneral(v, vOtherCross, seq(0, nb), other, otherX, otherB)
	pos := make([]int, rank)
	for i, a := range thisB {
		pos[a] = i
	}
	for j, a := range thisX {
		pos[a] = nb + j
	}
	sorted := slices.Clone(otherC)
	slices.Sort(sorted)
	for k, oa := range sorted {
		pos[thisC[slices.Index(otherC, oa)]] = nb + len(thisX) + k
	}
	for a, p := range pos {
		if a != p {
			return graph.TransposeAllAxes(g, pos...)
		}
	}
	return g
}

func dotGeneralVJP(node *graph.Node, vjps []*graph.Node, _ shapes.Shape) []*graph.Node {
	v, in := vjps[0], node.Inputs()
	lc, lb := ints(nodeParam(node, "lhsContractingAxes")), ints(nodeParam(node, "lhsBatchAxes"))
	rc, rb := ints(nodeParam(node, "rhsContractingAxes")), ints(nodeParam(node, "rhsBatchAxes"))
	lX, rX := crossAxes(in[0].Rank(), lc, lb), crossAxes(in[1].Rank(), rc, rb)
	nb := len(lb)
	vL, vR := seq(nb, len(lX)), seq(nb+len(lX), len(rX))
	gl := operandGrad(v, in[1], in[0].Rank(), lc, lb, lX, rc, rb, rX, vR)
	gr := operandGrad(v, in[0], in[1].Rank(), rc, rb, rX, lc, lb, lX, vL)
	return []*graph.Node{graph.ConvertDType(gl, in[0].DType()), graph.ConvertDType(gr, in[1].DType())}
}

func dotVJP(node *graph.Node, vjps []*graph.Node, s shapes.Shape) []*graph.Node {
	in := node.Inputs()
	if in[0].Rank() == 2 && in[1].Rank() == 2 {
		return []*graph.Node{
			graph.ConvertDType(graph.DotGeneral(vjps[0], []int{1}, nil, in[1], []int{1}, nil), in[0].DType()),
			graph.ConvertDType(graph.DotGeneral(in[0], []int{0}, nil, vjps[0], []int{0}, nil), in[1].DType()),
		}
	}
	return original[graph.NodeTypeDot](node, vjps, s)
}

func sliceVJP(node *graph.Node, vjps []*graph.Node, s shapes.Shape) []*graph.Node {
	starts, limits, strides := ints(nodeParam(node, "starts")), ints(nodeParam(node, "limits")), ints(nodeParam(node, "strides"))
	for _, st := range strides {
		if st > 1 {
			return original[graph.NodeTypeSlice](node, vjps, s)
		}
	}
	dims, v := node.Inputs()[0].Shape().Dimensions, vjps[0]
	for axis := range dims {
		before, after := starts[axis], dims[axis]-limits[axis]
		if before == 0 && after == 0 {
			continue
		}
		var parts []*graph.Node
		if before > 0 {
			sh := v.Shape().Clone()
			sh.Dimensions[axis] = before
			parts = append(parts, graph.Zeros(v.Graph(), sh))
		}
		parts = append(parts, v)
		if after > 0 {
			sh := v.Shape().Clone()
			sh.Dimensions[axis] = after
			parts = append(parts, graph.Zeros(v.Graph(), sh))
		}
		v = graph.Concatenate(parts, axis)
	}
	return []*graph.Node{v}
}
