package httpx

// Config bounds and shapes what ReadRequest accepts. The zero value is usable:
// setDefaults fills every unset field.
type Config struct {
	// MaxHeaderBytes bounds the request line plus the header section; larger ⇒ 431.
	// Default 64 KiB.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields; more ⇒ 431. Default 100.
	MaxHeaders int
	// MaxBodyBytes bounds a request body; larger ⇒ 413. Default 64 MiB. Negative
	// means unlimited.
	MaxBodyBytes int64
	// Slashes is the rule for "%2F", "%5C" and "\" in paths. Default RejectSlashes.
	Slashes SlashRule
	// DefaultPort is the port dropped from Host ("80" for plaintext, the default).
	DefaultPort string
}

// Defaults used by setDefaults.
const (
	DefaultMaxHeaderBytes = 64 << 10
	DefaultMaxHeaders     = 100
	DefaultMaxBodyBytes   = 64 << 20
)

func (c *Config) setDefaults() {
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxHeaders <= 0 {
		c.MaxHeaders = DefaultMaxHeaders
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.DefaultPort == "" {
		c.DefaultPort = "80"
	}
}

// WithDefaults returns c with every unset field filled in.
func (c Config) WithDefaults() Config {
	c.setDefaults()
	return c
}
