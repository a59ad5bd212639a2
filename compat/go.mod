module github.com/openzone/openzone/compat

go 1.26.0

require github.com/wenerme/go-wecom v1.0.0 // indirect
