// SPDX-License-Identifier: MIT

package vmtests

import (
	"reflect"
	"testing"

	"github.com/cnvmtest/cnvmtest/connector"
)

// TestSameMessageSeesEveryField runs on the host too: sameMessage must
// tell apart two messages that differ in any one field, including a field
// added to connector.Message later, and hold nil and empty Data equal.
func TestSameMessageSeesEveryField(t *testing.T) {
	base := connector.Message{ID: connector.ID{Idx: 1, Val: 2}, Seq: 3, Ack: 4, Flags: 5, Data: []byte("x")}
	if !sameMessage(base, base) {
		t.Fatal("a message differs from itself")
	}
	if !sameMessage(connector.Message{Data: nil}, connector.Message{Data: []byte{}}) {
		t.Error("nil and empty Data differ; cmpopts.EquateEmpty holds them equal")
	}
	typ := reflect.TypeFor[connector.Message]()
	for f := range typ.Fields() {
		for sub := range fieldsOf(f.Type) {
			other := base
			v := reflect.ValueOf(&other).Elem().FieldByIndex(f.Index)
			if sub != nil {
				v = v.FieldByIndex(sub.Index)
			}
			switch v.Kind() {
			case reflect.Uint16, reflect.Uint32:
				v.SetUint(v.Uint() + 1)
			case reflect.Slice:
				v.SetBytes([]byte("y"))
			default:
				t.Fatalf("field %s%s is a %s: teach sameMessage and this test about it", f.Name, subName(sub), v.Kind())
			}
			if sameMessage(base, other) {
				t.Errorf("sameMessage does not see field %s%s", f.Name, subName(sub))
			}
		}
	}
}

// fieldsOf yields the fields of a struct type t, or once nil for any
// other type.
func fieldsOf(t reflect.Type) func(func(*reflect.StructField) bool) {
	return func(yield func(*reflect.StructField) bool) {
		if t.Kind() != reflect.Struct {
			yield(nil)
			return
		}
		for f := range t.Fields() {
			if !yield(&f) {
				return
			}
		}
	}
}

func subName(f *reflect.StructField) string {
	if f == nil {
		return ""
	}
	return "." + f.Name
}
