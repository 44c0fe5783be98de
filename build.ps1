# Thin wrapper over the dotnet commands shown in README.md.
# Usage: ./build.ps1 [Build|Test|Bench|Sample|Pack] [extra arguments passed to dotnet]
param(
    [ValidateSet('Build', 'Test', 'Bench', 'Sample', 'Pack')]
    [string]$Target = 'Build',
    [Parameter(ValueFromRemainingArguments = $true)]
    [string[]]$Rest = @()
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
switch ($Target) {
    'Build'  { dotnet build Framework.sln -c Release @Rest }
    'Test'   { dotnet test Framework.sln -c Release @Rest }
    'Bench'  { dotnet run -c Release --project Benchmarks -- @Rest }
    'Sample' { dotnet run -c Release --project Samples/Digits -- @Rest }
    'Pack'   { dotnet pack Framework.sln -c Release -o artifacts @Rest }
}
exit $LASTEXITCODE
