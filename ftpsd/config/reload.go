package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// ReloadClass says when a running ftpsd applies a field of ftpsd.yaml. Each
// field states its class in a `reload` struct tag, next to its json name, so
// that the one who adds a field decides it there; the operator's restart
// hash (internal/render.RestartHash) and the reload warning are both computed
// from these tags. A tag on a struct field covers everything under it.
type ReloadClass string

const (
	// ReloadLive fields apply to the sessions (or connections) that start
	// after the file is reloaded; open sessions keep their snapshot.
	ReloadLive ReloadClass = "live"
	// ReloadRestart fields are read once, when ftpsd starts: listeners, the
	// storage root, the paths of the files it watches.
	ReloadRestart ReloadClass = "restart"
)

// ClassifiedField is one field of Config with its reload class.
type ClassifiedField struct {
	// Path is the field's path in ftpsd.yaml ("limits.maxSessions").
	Path  string
	Class ReloadClass
	index []int
}

var (
	fieldsOnce sync.Once
	fields     []ClassifiedField
	fieldsErr  error
)

// Fields lists every field of Config with its class, in declaration order,
// and an error naming each field that has no class (a field added without a
// `reload` tag). Such a field is listed with an empty class and counts as
// start-only, the safe side.
func Fields() ([]ClassifiedField, error) {
	fieldsOnce.Do(func() {
		var missing []string
		fields = classify(reflect.TypeFor[Config](), "", nil, &missing)
		if len(missing) > 0 {
			fieldsErr = fmt.Errorf("ftpsd config: fields without a reload class (add `reload:\"live\"` or `reload:\"restart\"`): %s", strings.Join(missing, ", "))
		}
	})
	return fields, fieldsErr
}

// classify walks t: a tagged field is a leaf whatever its type; an untagged
// struct (or pointer to one) is walked into; an untagged leaf is missing.
func classify(t reflect.Type, prefix string, index []int, missing *[]string) []ClassifiedField {
	var out []ClassifiedField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			name = f.Name
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		idx := append(append([]int(nil), index...), i)
		switch class := ReloadClass(f.Tag.Get("reload")); class {
		case ReloadLive, ReloadRestart:
			out = append(out, ClassifiedField{Path: path, Class: class, index: idx})
			continue
		case "":
		default:
			*missing = append(*missing, path+" (unknown class "+string(class)+")")
			out = append(out, ClassifiedField{Path: path, index: idx})
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]() {
			out = append(out, classify(ft, path, idx, missing)...)
			continue
		}
		*missing = append(*missing, path)
		out = append(out, ClassifiedField{Path: path, index: idx})
	}
	return out
}

// value is the field of c at index, nil when a pointer on the way is nil.
func (f ClassifiedField) value(c *Config) any {
	v := reflect.ValueOf(c).Elem()
	for _, i := range f.index {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v.Interface()
}

// restartFields are the fields a running ftpsd cannot change: the
// ReloadRestart ones, and any field without a class.
func restartFields() []ClassifiedField {
	all, _ := Fields()
	var out []ClassifiedField
	for _, f := range all {
		if f.Class != ReloadLive {
			out = append(out, f)
		}
	}
	return out
}

// RestartNeeded names the fields that differ between old and new and that a
// running ftpsd cannot change without a restart.
func RestartNeeded(old, new *Config) []string {
	var out []string
	for _, f := range restartFields() {
		if !reflect.DeepEqual(f.value(old), f.value(new)) {
			out = append(out, f.Path)
		}
	}
	return out
}

// RestartKey is a deterministic encoding of c's start-only fields: two
// configurations with the same key need no restart to go from one to the
// other. The operator hashes it into the pod template.
func RestartKey(c *Config) []byte {
	m := map[string]any{}
	for _, f := range restartFields() {
		m[f.Path] = f.value(c)
	}
	b, err := json.Marshal(m)
	if err != nil {
		// Every field of Config marshals (Parse's round trip relies on it).
		return []byte(err.Error())
	}
	return b
}
