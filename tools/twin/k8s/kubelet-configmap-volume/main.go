// Command kubelet-configmap-volume writes a ConfigMap into a directory with the kubelet's own
// ConfigMap volume code: the configmap plugin's MakePayload and the AtomicWriter every projected
// volume uses (a fresh hidden directory per version, `..data` swapped onto it by one rename). The
// tests of the analysis rules' file-watch contract run it on the rendered ConfigMap and volume.
//
//	kubelet-configmap-volume DIR < {"volume": ConfigMapVolumeSource, "configMap": ConfigMap}
//
// An unset defaultMode gets the API server's default (0644), as the live pod spec would carry.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/volume/configmap"
	volumeutil "k8s.io/kubernetes/pkg/volume/util"
)

type input struct {
	Volume    v1.ConfigMapVolumeSource `json:"volume"`
	ConfigMap v1.ConfigMap             `json:"configMap"`
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kubelet-configmap-volume: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	if len(os.Args) != 2 {
		fail(2, "usage: kubelet-configmap-volume DIR < volume-and-configmap.json")
	}
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail(2, "reading the volume and ConfigMap from stdin: %v", err)
	}
	mode := in.Volume.DefaultMode
	if mode == nil {
		m := v1.ConfigMapVolumeSourceDefaultMode
		mode = &m
	}
	optional := in.Volume.Optional != nil && *in.Volume.Optional
	payload, err := configmap.MakePayload(in.Volume.Items, &in.ConfigMap, mode, optional)
	if err != nil {
		fail(1, "%v", err)
	}
	// The kubelet creates the volume's directory before writing into it.
	if err := os.MkdirAll(os.Args[1], 0o750); err != nil {
		fail(1, "%v", err)
	}
	writer, err := volumeutil.NewAtomicWriter(os.Args[1], "configmap "+in.ConfigMap.Name)
	if err != nil {
		fail(1, "%v", err)
	}
	if err := writer.Write(payload, nil); err != nil {
		fail(1, "%v", err)
	}
}
