BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:dir = New-TestDirectory
    $script:password = New-TestSecureString
    $script:good = New-AzBackupCertificate -Subject 'CN=tested01' -OutputDirectory $dir -PfxPassword $password
}
AfterAll { Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction SilentlyContinue }

Describe 'Test-AzBackupCertificate' {
    It 'returns one typed result per rule, all passing, for a certificate made by New-AzBackupCertificate' {
        $results = Test-AzBackupCertificate -Path $good.CertificatePath
        $results.Count | Should -Be 6
        $results | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'AzBackup.CertificateRule' }
        $results.Rule | Should -Be @('X509Version3', 'RsaKeySize', 'ClientAuthenticationEku', 'ValidityPeriod', 'TimeValid', 'PrivateKey')
        ($results | Where-Object { -not $_.Passed }) | Should -BeNullOrEmpty
        ($results | Where-Object Rule -EQ 'PrivateKey').Status | Should -Be 'NotRequired'
    }

    It 'takes the output of New-AzBackupCertificate and Get-ChildItem from the pipeline' {
        @($good | Test-AzBackupCertificate).Count | Should -Be 6
        @(Get-ChildItem -LiteralPath $dir -Filter '*.cer' | Test-AzBackupCertificate).Count | Should -Be 6
    }

    It 'checks the private key in a .pfx with -RequirePrivateKey' {
        $results = Test-AzBackupCertificate -Path $good.PrivateKeyPath -Password $password -RequirePrivateKey
        ($results | Where-Object Rule -EQ 'PrivateKey').Status | Should -Be 'Passed'
        ($results | Where-Object Rule -EQ 'PrivateKey' -ErrorAction Stop).Passed | Should -BeTrue
        (Test-AzBackupCertificate -Path $good.CertificatePath -RequirePrivateKey | Where-Object Rule -EQ 'PrivateKey').Status | Should -Be 'Failed'
    }

    It 'answers $true / $false with -Quiet' {
        Test-AzBackupCertificate -Path $good.CertificatePath -Quiet | Should -BeTrue
        $weak = New-TestCertificateFile -Path (Join-Path $dir 'weak.cer') -KeySize 1024
        Test-AzBackupCertificate -Path $weak -Quiet | Should -BeFalse
    }

    It 'fails exactly the <Rule> rule for <Case> (certificate made by .NET)' -ForEach @(
        @{ Case = 'a 1024-bit key'; Rule = 'RsaKeySize'; Make = @{ KeySize = 1024 } }
        @{ Case = 'no EKU'; Rule = 'ClientAuthenticationEku'; Make = @{ NoEku = $true } }
        @{ Case = '5-year validity'; Rule = 'ValidityPeriod'; Make = @{ NotAfter = (Get-Date).AddYears(5) } }
        @{ Case = 'an expired certificate'; Rule = 'TimeValid'; Make = @{ NotBefore = (Get-Date).AddDays(-400); NotAfter = (Get-Date).AddDays(-1) } }
    ) {
        $path = New-TestCertificateFile -Path (Join-Path $dir "$Rule.cer") @Make
        $failed = Test-AzBackupCertificate -Path $path | Where-Object { -not $_.Passed }
        $failed.Rule | Should -Be $Rule
    }

    It 'gives a coded error for <Case>' -ForEach @(
        @{ Case = 'a missing file'; Code = 'AZB_FILE_NOT_FOUND'; Category = 'ObjectNotFound'; Make = { Join-Path $dir 'absent.cer' } }
        @{ Case = 'a directory'; Code = 'AZB_PATH_IS_DIRECTORY'; Category = 'InvalidArgument'; Make = { $dir } }
        @{ Case = 'a garbage file'; Code = 'AZB_CERT_UNREADABLE'; Category = 'InvalidData'; Make = { $p = Join-Path $dir 'garbage.cer'; Set-Content -LiteralPath $p -Value 'not a certificate'; $p } }
        @{ Case = 'a wrong pfx password'; Code = 'AZB_CERT_PASSWORD_WRONG'; Category = 'AuthenticationError'; Make = { $good.PrivateKeyPath }; Password = 'wrong-password' }
    ) {
        $params = @{ Path = (& $Make); ErrorAction = 'Stop' }
        if ($Password) { $params.Password = New-TestSecureString $Password }
        $err = { Test-AzBackupCertificate @params } | Should -Throw -ErrorId "$Code,Test-AzBackupCertificate" -PassThru
        $err.CategoryInfo.Category | Should -Be $Category
        $err.TargetObject | Should -Not -BeNullOrEmpty
    }

    It 'reports an error per bad file and goes on with the others in the pipeline' {
        $paths = @((Join-Path $dir 'absent1.cer'), $good.CertificatePath)
        $results = $paths | Test-AzBackupCertificate -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'AZB_FILE_NOT_FOUND,Test-AzBackupCertificate'
        $results.Count | Should -Be 6
    }
}
