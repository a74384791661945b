module example.com/cnupper

go 1.26

require github.com/cnvmtest/cnvmtest v0.0.0-00010101000000-000000000000

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/mdlayher/netlink v1.11.2 // indirect
	github.com/mdlayher/socket v0.6.0 // indirect
	golang.org/x/net v0.53.0 // indirect
	golang.org/x/sync v0.20.0 // indirect
	golang.org/x/sys v0.43.0 // indirect
)

// The example builds against the cnvmtest tree it sits in. A project of
// your own drops this line and requires a released version instead.
replace github.com/cnvmtest/cnvmtest => ../..
