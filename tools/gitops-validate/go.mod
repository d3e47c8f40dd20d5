module github.com/ticketing/cloud-sandbox/tools/gitops-validate

go 1.25.5
