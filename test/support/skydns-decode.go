// Decodes etcd values the way CoreDNS's etcd plugin does before it answers from them, with Go's
// own encoding/json, for test/coredns-extension.test.ts: the struct below has the field names,
// JSON tags and Go types of CoreDNS's msg.Service (plugin/etcd/msg/service.go at 4b26cced3), and
// `included` is the condition of plugin/etcd/etcd.go `shouldInclude`. Standard library only, so
// `go run` needs no module download.
//
// Input (stdin): a JSON array of strings, each one etcd value. Output (stdout): a JSON array, per
// value {"error": "..."} when json.Unmarshal fails (CoreDNS then fails the whole lookup), else the
// decoded host, text and ttl and, per query type, whether the entry takes part in the answer.
package main

import (
	"encoding/json"
	"os"
)

type service struct {
	Host        string `json:"host,omitempty"`
	Port        int    `json:"port,omitempty"`
	Priority    int    `json:"priority,omitempty"`
	Weight      int    `json:"weight,omitempty"`
	Text        string `json:"text,omitempty"`
	Mail        bool   `json:"mail,omitempty"`
	TTL         uint32 `json:"ttl,omitempty"`
	TargetStrip int    `json:"targetstrip,omitempty"`
	Group       string `json:"group,omitempty"`
	Key         string `json:"-"`
}

type verdict struct {
	Error    string          `json:"error,omitempty"`
	Host     string          `json:"host"`
	Text     string          `json:"text"`
	TTL      uint32          `json:"ttl"`
	Included map[string]bool `json:"included,omitempty"`
}

func main() {
	var values []string
	if err := json.NewDecoder(os.Stdin).Decode(&values); err != nil {
		panic(err)
	}
	out := make([]verdict, 0, len(values))
	for _, v := range values {
		s := new(service)
		if err := json.Unmarshal([]byte(v), s); err != nil {
			out = append(out, verdict{Error: err.Error()})
			continue
		}
		included := map[string]bool{}
		for _, qtype := range []string{"A", "AAAA", "TXT", "CNAME", "PTR", "MX", "SRV", "NS"} {
			included[qtype] = (qtype == "TXT" && s.Text != "") || s.Host != ""
		}
		out = append(out, verdict{Host: s.Host, Text: s.Text, TTL: s.TTL, Included: included})
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
