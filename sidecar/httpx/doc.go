// Package httpx is Rampart's strict HTTP/1.x request parser, request-target
// normalizer and response parser. The inbound proxy authorizes exactly the request this package returns
// and forwards exactly that request, so the policy and the application can never
// disagree about method, path, host or framing.
//
// The parser refuses what proxies and applications have historically read
// differently (request smuggling and authorization bypasses): Content-Length together
// with Transfer-Encoding, differing Content-Lengths, transfer codings other than a
// lone "chunked", obs-fold, bare LF or CR, whitespace before a header colon, control
// characters in headers, lower-case methods, and oversize header sections. A chunked
// request body may not be mostly framing: past 1024 chunks, each must bring 4 bytes
// of data on average (400 otherwise). Chunks already buffered are decoded in one
// pass, and forwarded joined into chunks of up to 16 KiB.
//
// The normalizer decodes percent-escapes of unreserved characters once, rejects NUL,
// invalid escapes and invalid UTF-8, merges repeated slashes, resolves "." and ".."
// (and refuses "..;" style segments that some servers read as ".."), strips the
// fragment, splits off the query and treats encoded slashes and backslashes by one
// configured SlashRule. A query is refused when parsers could split or decode it
// differently (";", invalid escapes, NUL), so the policy's parsed_query and the app
// see the same parameters; EditQuery applies a policy's query changes.
//
// ReadResponse reads the application's answer by the same framing rules (a 502
// *Error for anything ambiguous), and BodyReader relays its body piece by piece from
// the connection's buffer, so the proxy needs neither net/http nor a copy buffer.
// RequestBody reads a request body's first bytes for a policy that reads bodies and
// forwards them, then the rest, byte for byte.
package httpx
