package testutil

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Server is a real S3-compatible server (versitygw on a POSIX directory) for one test.
type S3Server struct {
	Endpoint          string // http://127.0.0.1:PORT
	Bucket            string
	AccessKey, Secret string
	Dir               string // the directory behind the bucket
}

// BlobURL is the CCB_BLOB_URL of the server's bucket.
func (s *S3Server) BlobURL() string {
	return fmt.Sprintf("s3://%s?endpoint=%s&use_path_style=true&region=us-east-1", s.Bucket, s.Endpoint)
}

// Client returns an S3 client of the server (to look behind the service's back).
func (s *S3Server) Client() *s3.Client {
	return s3.NewFromConfig(aws.Config{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(s.AccessKey, s.Secret, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}, func(o *s3.Options) { o.BaseEndpoint = aws.String(s.Endpoint); o.UsePathStyle = true })
}

// StartS3 starts versitygw (built by scripts/ensure-tools.sh into .tools/bin) on a free
// loopback port over a fresh directory, creates one bucket through the S3 API (versitygw is
// confused by a hand-made bucket directory) and stops the server when the test ends. Without
// the binary the test fails in CI and is skipped elsewhere.
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	bin := filepath.Join(repoRoot(t), ".tools", "bin", "versitygw")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("testutil: versitygw is missing (%s); scripts/ensure-tools.sh builds it", bin)
		}
		t.Skipf("versitygw is missing (%s); run scripts/ensure-tools.sh", bin)
	}
	port := freePort(t)
	s := &S3Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), Bucket: "ccb-" + randomSuffix(),
		AccessKey: "ccbtest" + randomSuffix()[:8], Secret: randomSuffix() + randomSuffix(), Dir: t.TempDir()}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--access", s.AccessKey, "--secret", s.Secret, "--port", fmt.Sprintf("127.0.0.1:%d", port), "posix", s.Dir)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Env = []string{"HOME=" + s.Dir, "PATH=/usr/bin:/bin"} // nothing of ours leaks into it
	if err := cmd.Start(); err != nil {
		t.Fatalf("testutil: start versitygw: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := s.Client()
	for {
		_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)})
		if err == nil {
			return s
		}
		select {
		case <-done:
			t.Fatalf("testutil: versitygw exited: %s", logs.String())
		case <-ctx.Done():
			t.Fatalf("testutil: versitygw did not come up: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testutil: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// repoRoot is the directory holding go.mod, found upwards from the test's directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("testutil: no go.mod above the test directory")
		}
		dir = parent
	}
}
