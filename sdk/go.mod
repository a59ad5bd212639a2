module github.com/openzone/openzone/sdk

go 1.26.0
