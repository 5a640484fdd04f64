package storage

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	gcaws "gocloud.dev/aws"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
)

// s3Mux opens s3:// URLs with s3Opener; the prefix= parameter is applied
// by the mux, as gocloud's default mux does.
var s3Mux = func() *blob.URLMux {
	m := new(blob.URLMux)
	m.RegisterBucket(s3blob.Scheme, s3Opener{})
	return m
}()

// s3Opener opens an s3:// URL exactly as gocloud's s3blob.URLOpener does
// (the same query parameters: region, endpoint, anonymous, profile,
// use_path_style, disable_https, accelerate, ssetype, kmskeyid, the
// checksum modes, …) with one difference: the S3 client does not log
// "Response has no supported checksum" for every response without one.
// The AWS SDK prints that line to stderr at debug level for every ranged
// GET (a range never carries the whole object's checksum), so a DICOM
// bucket's plan would print one line per file. Responses that do carry a
// checksum are still validated.
type s3Opener struct{}

func (s3Opener) OpenBucketURL(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	q := u.Query()
	var opts s3blob.Options
	if v := q.Get("ssetype"); v != "" {
		q.Del("ssetype")
		found := false
		for _, t := range types.ServerSideEncryptionAes256.Values() {
			if strings.EqualFold(string(t), v) {
				opts.EncryptionType, found = t, true
			}
		}
		if !found {
			return nil, fmt.Errorf("invalid value for %q: %q", "ssetype", v)
		}
	}
	if v := q.Get("kmskeyid"); v != "" {
		q.Del("kmskeyid")
		opts.KMSEncryptionID = v
	}
	clientOpts := []func(*s3.Options){func(o *s3.Options) {
		o.DisableLogOutputChecksumValidationSkipped = true
		o.APIOptions = append(o.APIOptions, dropRangeChecksums)
		o.Retryer = sdkRetryer(ctx)
	}}
	for _, key := range []string{"accelerate", "disable_https", "use_path_style", "s3ForcePathStyle"} {
		v := q.Get(key)
		if v == "" {
			continue
		}
		q.Del(key)
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("invalid value for %q: %w", key, err)
		}
		switch key {
		case "accelerate":
			clientOpts = append(clientOpts, func(o *s3.Options) { o.UseAccelerate = b })
		case "disable_https":
			clientOpts = append(clientOpts, func(o *s3.Options) { o.EndpointOptions.DisableHTTPS = b })
		default:
			clientOpts = append(clientOpts, func(o *s3.Options) { o.UsePathStyle = b })
		}
	}
	cfg, err := gcaws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("open bucket %v: %w", u, err)
	}
	client := s3.NewFromConfig(cfg, clientOpts...)
	// The upload manager takes the request checksum mode from the bucket
	// options, not the client (as s3blob.URLOpener sets it).
	opts.RequestChecksumCalculation = cfg.RequestChecksumCalculation
	return s3blob.OpenBucket(ctx, client, u.Host, &opts)
}

// retryOptionsKey carries the Options of the Bucket being opened to
// s3Opener, which gocloud's URL mux calls with the context only.
type retryOptionsKey struct{}

// sdkRetryer is the S3 client's own retryer: the SDK's standard one
// (three attempts; throttling, 5xx, timeouts, dropped connections, S3's
// retryable codes at any status) with delays capped at the Options'
// MaxBackoff and no retry quota, so that a storm does not end retries
// early. Bucket.retry backs off on top of it for what it gives up on,
// and it covers what Bucket.retry cannot repeat: gocloud's streaming
// writer, a failed upload's abort.
func sdkRetryer(ctx context.Context) aws.Retryer {
	opt, _ := ctx.Value(retryOptionsKey{}).(Options)
	return retry.NewStandard(func(so *retry.StandardOptions) {
		if opt.MaxBackoff > 0 {
			so.MaxBackoff = min(opt.MaxBackoff, retry.DefaultMaxBackoff)
		}
		so.RateLimiter = ratelimit.None
	})
}

// newS3Target returns the S3 client behind b, opened from bucketURL, with
// the bucket name and key prefix of the URL; nil if b has no S3 client.
func newS3Target(b *blob.Bucket, bucketURL string) *s3Target {
	var client *s3.Client
	u, err := url.Parse(bucketURL)
	if err != nil || !b.As(&client) {
		return nil
	}
	t := &s3Target{client: client, bucket: u.Host, prefix: u.Query().Get("prefix")}
	// A checksum with every upload (as gocloud's s3blob sends through the
	// transfer manager), unless the client computes checksums only when an
	// API requires them, what some third-party S3-compatible stores
	// expect: see s3Integrity.
	t.crc32c = client.Options().RequestChecksumCalculation != aws.RequestChecksumCalculationWhenRequired
	return t
}

// dropRangeChecksums removes the x-amz-checksum-* headers from the
// response to a GET of a byte range, before the SDK validates the body
// against them. S3 sends none with a range, since the checksum it keeps
// is the whole object's, but some S3-compatible servers (gofakes3) send
// the stored one with every GET, and the SDK then fails every ranged read
// of an object uploaded with a checksum: a DICOM header, a Parquet
// footer. Whole-object GETs are still validated.
func dropRangeChecksums(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("medmd:DropRangeChecksums",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			req, okReq := in.Request.(*smithyhttp.Request)
			resp, okResp := out.RawResponse.(*smithyhttp.Response)
			if okReq && okResp && req.Header.Get("Range") != "" {
				for h := range resp.Header {
					if strings.HasPrefix(strings.ToLower(h), "x-amz-checksum-") {
						resp.Header.Del(h)
					}
				}
			}
			return out, md, err
		}), middleware.After)
}
