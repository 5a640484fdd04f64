package storage

// The drivers of the gs:// and azblob:// schemes, registered on gocloud's
// default URL mux, which Open uses for every scheme but s3:// (opened by
// s3Opener) and local folders (fileblob). This is the one place a driver
// is linked in.
//
// gs://bucket: Google Cloud Storage, credentials from Application Default
// Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's login, the
// metadata server of GCE/GKE); with none, requests go unsigned, which
// reads public buckets only. STORAGE_EMULATOR_HOST points it at an
// emulator.
//
// azblob://container: Azure Blob Storage, the account from
// AZURE_STORAGE_ACCOUNT (or ?storage_account=), credentials from
// AZURE_STORAGE_KEY, AZURE_STORAGE_CONNECTION_STRING or
// AZURE_STORAGE_SAS_TOKEN, else azidentity's default chain (workload
// identity, managed identity, the Azure CLI's login).
import (
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"
)
