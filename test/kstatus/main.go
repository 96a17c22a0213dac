// kstatus reads Kubernetes objects as JSON on stdin (one or more values, each
// an object or a List with items) and prints, per object, one JSON line with
// the status that sigs.k8s.io/cli-utils/pkg/kstatus computes for it: the same
// rules Flux's health checks and `kubectl wait --for=...` readers follow.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type verdict struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
	Error     string `json:"error,omitempty"`
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(in)
	enc := json.NewEncoder(out)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading JSON: %w", err)
		}
		// kstatus reads metadata.generation as int64, which encoding/json never
		// produces; apimachinery's decoder turns whole numbers into int64.
		var value map[string]interface{}
		if err := utiljson.Unmarshal(raw, &value); err != nil {
			return fmt.Errorf("reading JSON: %w", err)
		}
		for _, obj := range objects(value) {
			if err := enc.Encode(compute(obj)); err != nil {
				return err
			}
		}
	}
}

// objects unwraps a List (what `kubectl get -o json` prints for several objects).
func objects(value map[string]interface{}) []*unstructured.Unstructured {
	items, isList := value["items"].([]interface{})
	if !isList {
		return []*unstructured.Unstructured{{Object: value}}
	}
	var list []*unstructured.Unstructured
	for _, item := range items {
		if m, ok := item.(map[string]interface{}); ok {
			list = append(list, &unstructured.Unstructured{Object: m})
		}
	}
	return list
}

func compute(obj *unstructured.Unstructured) verdict {
	v := verdict{Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
	result, err := status.Compute(obj)
	if err != nil {
		v.Status = "Error"
		v.Error = err.Error()
		return v
	}
	v.Status = string(result.Status)
	v.Message = result.Message
	return v
}
