BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:dir = New-TestDirectory
    $script:password = New-TestSecureString
}
AfterAll { Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction SilentlyContinue }

Describe 'New-AzBackupCertificate' {
    It 'creates a .cer and .pfx and returns a typed AzBackup.Certificate' {
        $cert = New-AzBackupCertificate -Subject 'CN=pester01, O=Contoso' -OutputDirectory $dir -PfxPassword $password
        $cert.PSObject.TypeNames[0] | Should -Be 'AzBackup.Certificate'
        $cert.Thumbprint | Should -Match '^[0-9A-F]{40}$'
        $cert.Subject | Should -Be 'CN=pester01, O=Contoso'
        $cert.KeySize | Should -Be 2048
        $cert.NotAfter | Should -BeOfType [datetime]
        ($cert.NotAfter - $cert.NotBefore).TotalDays | Should -Be 365
        $cert.CertificatePath | Should -Be (Join-Path $dir 'pester01.cer')
        $cert.PrivateKeyPath | Should -Be (Join-Path $dir 'pester01.pfx')
        $cert.CertificatePath | Should -Exist
        $cert.PrivateKeyPath | Should -Exist
    }

    It 'writes a .pfx that .NET opens with the password, with the same thumbprint and the private key' {
        $cert = New-AzBackupCertificate -Subject 'CN=pester02' -OutputDirectory $dir -PfxPassword $password -KeySize 3072
        $x509 = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($cert.PrivateKeyPath, $password)
        $x509.Thumbprint | Should -Be $cert.Thumbprint
        $x509.HasPrivateKey | Should -BeTrue
        $x509.Version | Should -Be 3
        $x509.PublicKey.GetRSAPublicKey().KeySize | Should -Be 3072
        $eku = $x509.Extensions | Where-Object { $_ -is [System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension] }
        $eku.EnhancedKeyUsages.Value | Should -Contain '1.3.6.1.5.5.7.3.2'
        $public = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($cert.CertificatePath)
        $public.HasPrivateKey | Should -BeFalse
        $public.Thumbprint | Should -Be $cert.Thumbprint
    }

    It 'creates the private key file readable by its owner only' -Skip:$IsWindows {
        $cert = New-AzBackupCertificate -Subject 'CN=pester03' -OutputDirectory $dir -PfxPassword $password
        [int](Get-Item -LiteralPath $cert.PrivateKeyPath).UnixFileMode | Should -Be ([Convert]::ToInt32('600', 8))
    }

    It 'resolves a relative -OutputDirectory against the current PowerShell location' {
        Push-Location $dir
        try {
            $null = New-Item -ItemType Directory -Name 'relative' -Force
            $cert = New-AzBackupCertificate -Subject 'CN=pester04' -OutputDirectory 'relative' -PfxPassword $password
            $cert.CertificatePath | Should -Be (Join-Path $dir 'relative/pester04.cer')
        } finally { Pop-Location }
    }

    It 'creates nothing with -WhatIf' {
        New-AzBackupCertificate -Subject 'CN=whatif' -OutputDirectory $dir -PfxPassword $password -WhatIf | Should -BeNullOrEmpty
        Join-Path $dir 'whatif.cer' | Should -Not -Exist
        Join-Path $dir 'whatif.pfx' | Should -Not -Exist
    }

    It 'writes a PEM key and warns when it is not encrypted' {
        $cert = New-AzBackupCertificate -Subject 'CN=pem01' -OutputDirectory $dir -KeyFormat Pem -WarningVariable warnings -WarningAction SilentlyContinue
        $cert.PrivateKeyFormat | Should -Be 'pem'
        $cert.PrivateKeyPath | Should -BeLike '*pem01.key'
        $warnings.Count | Should -Be 1
        "$($warnings[0])" | Should -BeLike '*not encrypted*'
    }

    It 'refuses to replace existing files unless -Force' {
        $first = New-AzBackupCertificate -Subject 'CN=keep01' -OutputDirectory $dir -PfxPassword $password
        { New-AzBackupCertificate -Subject 'CN=keep01' -OutputDirectory $dir -PfxPassword $password -ErrorAction Stop } |
            Should -Throw -ErrorId 'AZB_FILE_EXISTS,New-AzBackupCertificate'
        (New-AzBackupCertificate -Subject 'CN=keep01' -OutputDirectory $dir -PfxPassword $password -Force).Thumbprint |
            Should -Not -Be $first.Thumbprint
    }

    It 'refuses <Case> with <Code> and writes nothing' -ForEach @(
        @{ Case = 'a 1024-bit key'; Code = 'AZB_CERT_KEY_TOO_SHORT'; Extra = @{ KeySize = 1024 }; Category = 'InvalidArgument' }
        @{ Case = 'a 5-year validity'; Code = 'AZB_CERT_VALIDITY_TOO_LONG'; Extra = @{ ValidityDays = 1826 }; Category = 'InvalidArgument' }
        @{ Case = 'a subject without CN'; Code = 'AZB_CERT_SUBJECT_INVALID'; Extra = @{ Subject = 'O=Contoso' }; Category = 'InvalidArgument' }
        @{ Case = 'a pfx without password'; Code = 'AZB_CERT_PASSWORD_REQUIRED'; Extra = @{ PfxPassword = $null }; Category = 'InvalidArgument' }
        @{ Case = 'a missing output directory'; Code = 'AZB_DIRECTORY_NOT_FOUND'; Extra = @{ OutputDirectory = '/nonexistent/azb' }; Category = 'ObjectNotFound' }
    ) {
        $sub = New-TestDirectory
        $params = @{ Subject = 'CN=refused'; OutputDirectory = $sub; PfxPassword = $password; ErrorAction = 'Stop' }
        foreach ($key in $Extra.Keys) { $params[$key] = $Extra[$key] }
        if ($null -eq $params.PfxPassword) { $params.Remove('PfxPassword') }
        $err = { New-AzBackupCertificate @params } | Should -Throw -ErrorId "$Code,New-AzBackupCertificate" -PassThru
        $err.CategoryInfo.Category | Should -Be $Category
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        @(Get-ChildItem -LiteralPath $sub).Count | Should -Be 0
        Remove-Item -LiteralPath $sub -Recurse -Force
    }
}
