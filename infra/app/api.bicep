// The TokenRoute Function App on Flex Consumption, and every app setting it reads.
//
// The settings contract is shared/config/settings.py (Settings, StorageSettings) and DESIGN.md §4;
// tests/infra/test_templates.py checks that `appSettings` below sets every key the code reads in
// Azure and none of the local-only ones.

@description('Name of the Function App.')
param name string

param location string = resourceGroup().location
param tags object = {}

@description('azd finds the app to deploy by this tag (services.api in azure.yaml).')
param serviceName string = 'api'

@description('Resource ID of the Flex Consumption (FC1) plan.')
param appServicePlanId string

@description('Resource ID of the user-assigned managed identity the app runs as.')
param identityId string

@description('Client ID of that identity; the host, the storage clients and DefaultAzureCredential select it by this.')
param identityClientId string

param storageAccountName string
param deploymentStorageContainerName string
param applicationInsightsName string

@description('https://<vault>.vault.azure.net/')
param keyVaultUri string

@description('The web frontend\'s origin: the only CORS origin and the Clerk authorized party.')
param frontendOrigin string

param clerkIssuer string
param clerkJwksUrl string = ''
param clerkJwtKey string = ''

param logLevel string = 'INFO'

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

// Python 3.11: pyproject.toml's requires-python and the version the tests run on.
var runtimeName = 'python'
var runtimeVersion = '3.11'

resource stg 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Browsers send Origin without a trailing slash, and the API compares it (and azp) exactly.
var origin = endsWith(frontendOrigin, '/') ? take(frontendOrigin, length(frontendOrigin) - 1) : frontendOrigin
// Clerk publishes the JWKS under the issuer; an issuer given with a trailing slash still works.
var issuer = endsWith(clerkIssuer, '/') ? take(clerkIssuer, length(clerkIssuer) - 1) : clerkIssuer
var jwksUrl = !empty(clerkJwksUrl) ? clerkJwksUrl : '${issuer}/.well-known/jwks.json'

var appSettings = {
  // Functions host and shared.storage: storage by managed identity (StorageSettings). No
  // AzureWebJobsStorage connection string: the account refuses shared keys anyway.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__accountName: stg.name
  AzureWebJobsStorage__blobServiceUri: stg.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: stg.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: stg.properties.primaryEndpoints.table

  // The Key Vault backend builds DefaultAzureCredential() without a client id; with a
  // user-assigned identity only, its managed identity credential finds the identity by this.
  AZURE_CLIENT_ID: identityClientId

  // Application Insights with Entra ID (local auth is disabled on the component).
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'

  // TokenRoute (Settings): prod refuses every local convenience at start-up.
  TOKENROUTE_ENV: 'prod'
  TOKENROUTE_LOG_LEVEL: logLevel
  CLERK_ISSUER: issuer
  CLERK_JWKS_URL: jwksUrl
  CLERK_JWT_KEY: clerkJwtKey // empty means unset: JWKS only
  CLERK_AUTHORIZED_PARTIES: origin
  SECRETS_BACKEND: 'keyvault'
  KEYVAULT_URL: keyVaultUri
  TOKENROUTE_ALLOW_PRIVATE_ENDPOINTS: 'false'
}

module functionApp 'br/public:avm/res/web/site:0.24.0' = {
  name: '${serviceName}-flex-consumption'
  params: {
    kind: 'functionapp,linux'
    name: name
    location: location
    tags: union(tags, { 'azd-service-name': serviceName })
    serverFarmResourceId: appServicePlanId
    managedIdentities: {
      userAssignedResourceIds: [
        identityId
      ]
    }
    httpsOnly: true
    clientAffinityEnabled: false // a stateless API: no ARRAffinity cookie
    publicNetworkAccess: 'Enabled'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${stg.properties.primaryEndpoints.blob}${deploymentStorageContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: runtimeName
        version: runtimeVersion
      }
    }
    siteConfig: {
      alwaysOn: false // Flex Consumption scales to zero; it has no always-on
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      cors: {
        // The frontend normally bridges same-origin; this covers browsers calling the API directly
        // with a Bearer header. Credentials stay off: the __session cookie belongs to the frontend.
        allowedOrigins: [
          origin
        ]
        supportCredentials: false
      }
    }
    // azd deploys with Entra ID through ARM; publishing with basic credentials is switched off.
    basicPublishingCredentialsPolicies: [
      {
        name: 'ftp'
        allow: false
      }
      {
        name: 'scm'
        allow: false
      }
    ]
    configs: [
      {
        name: 'appsettings'
        // The template is the whole truth: a setting added by hand (a local-only one, say) is
        // removed by the next `azd provision` instead of lingering.
        retainCurrentAppSettings: false
        properties: appSettings
      }
    ]
  }
}

output name string = functionApp.outputs.name
output resourceId string = functionApp.outputs.resourceId
output defaultHostname string = functionApp.outputs.defaultHostname
