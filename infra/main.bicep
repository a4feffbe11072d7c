// TokenRoute in Azure: a Flex Consumption Function App that reaches Storage, Key Vault and
// Application Insights with one user-assigned managed identity. No connection string, account key
// or instrumentation key is ever handed to the app.
//
// One Azure Verified Module per resource; the app and its role assignments live in ./app.
// `azd up` fills environmentName and location; the other required parameters come from the azd
// environment (see main.parameters.json and the README's "Deploy to Azure").
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; with the subscription and location it seeds the resource token that makes names unique.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@minLength(8)
@description('Origin of the web frontend, e.g. https://app.example.com (scheme and host, no path or trailing slash). It is the only origin CORS allows and the authorized party Clerk session tokens must name in azp.')
param frontendOrigin string

@minLength(8)
@description('Issuer (iss) of the Clerk instance\'s session tokens, e.g. https://clerk.example.com or https://your-app.clerk.accounts.dev.')
param clerkIssuer string

@description('JWKS endpoint of the Clerk instance. Empty means <clerkIssuer>/.well-known/jwks.json, where Clerk publishes it.')
param clerkJwksUrl string = ''

@description('Optional PEM public key of the Clerk instance, for verification without fetching JWKS ("\\n" escapes allowed). Empty means JWKS only.')
param clerkJwtKey string = ''

@allowed([
  512
  2048
  4096
])
@description('Memory of each Flex Consumption instance in MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Most instances the app scales out to (HTTP and each queue trigger scale on their own; this caps them all).')
param maximumInstanceCount int = 100

@allowed([
  'DEBUG'
  'INFO'
  'WARNING'
  'ERROR'
])
@description('TOKENROUTE_LOG_LEVEL of the app.')
param logLevel string = 'INFO'

// Optional name overrides; empty means <abbreviation><resource token>.
param resourceGroupName string = ''
param functionAppName string = ''
param appServicePlanName string = ''
param storageAccountName string = ''
param keyVaultName string = ''
param identityName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var apiName = !empty(functionAppName) ? functionAppName : '${abbrs.webSitesFunctions}api-${resourceToken}'
// Flex Consumption runs the package azd uploads to this container (reached with the identity too).
var deploymentStorageContainerName = 'app-package-${take(apiName, 32)}-${take(toLower(uniqueString(apiName, resourceToken)), 7)}'

// Every table, queue (with its -poison twin) and blob container TokenRoute uses: the names in
// shared/storage/catalog.py (TABLES, all_queue_names(), CONTAINERS). tests/infra/test_templates.py
// fails when this list and the catalog differ, so a new name is added in both places.
var tokenrouteStorage = {
  tables: [
    'activation'
    'apikeyindex'
    'apikeys'
    'audit'
    'credentials'
    'currentroutes'
    'deletions'
    'driftevents'
    'exports'
    'health'
    'intelligence'
    'memberships'
    'priceoverrides'
    'projects'
    'providercalls'
    'results'
    'rollupparts'
    'rollups'
    'rollupwatermarks'
    'rollupwork'
    'routedecisions'
    'runcompletions'
    'runs'
    'runshards'
    'schedulefirings'
    'schedules'
    'suites'
    'suiteversions'
    'tenants'
    'usertenants'
  ]
  queues: [
    'credential-validations'
    'credential-validations-poison'
    'deletions'
    'deletions-poison'
    'exports'
    'exports-poison'
    'health'
    'health-poison'
    'run-shards'
    'run-shards-poison'
  ]
  containers: [
    'decisions'
    'health'
    'outputs'
    'packs'
    'suites'
  ]
}

var storageTables = [for table in tokenrouteStorage.tables: { name: table }]
var storageQueues = [for queue in tokenrouteStorage.queues: { name: queue }]
var blobContainers = [
  for container in concat(tokenrouteStorage.containers, [deploymentStorageContainerName]): {
    name: container
    publicAccess: 'None'
  }
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// The app's only identity: the Functions host, the storage clients, Key Vault and App Insights use it.
module apiIdentity 'br/public:avm/res/managed-identity/user-assigned-identity:0.6.0' = {
  name: 'apiIdentity'
  scope: rg
  params: {
    name: !empty(identityName) ? identityName : '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module appServicePlan 'br/public:avm/res/web/serverfarm:0.7.0' = {
  name: 'appServicePlan'
  scope: rg
  params: {
    name: !empty(appServicePlanName) ? appServicePlanName : '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    skuName: 'FC1'
    kind: 'functionapp'
    reserved: true // Linux: the only OS Flex Consumption runs Python on
    zoneRedundant: false
  }
}

module storage 'br/public:avm/res/storage/storage-account:0.33.0' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    kind: 'StorageV2'
    skuName: 'Standard_LRS'
    // Entra ID only: no account key and no SAS signed with one; links use user delegation.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: blobContainers
      // Soft delete lets an operator undo a mistaken deletion of an export or a suite version.
      containerDeleteRetentionPolicyEnabled: true
      containerDeleteRetentionPolicyDays: 7
      deleteRetentionPolicyEnabled: true
      deleteRetentionPolicyDays: 7
    }
    queueServices: {
      queues: storageQueues
    }
    tableServices: {
      tables: storageTables
    }
  }
}

// Provider keys and the API-key pepper. RBAC only (no access policies); purge protection keeps a
// deleted secret recoverable for the retention period, which shared/secrets/keyvault.py handles.
module keyVault 'br/public:avm/res/key-vault/vault:0.14.0' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    sku: 'standard'
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enableVaultForDeployment: false
    enableVaultForTemplateDeployment: false
    enableVaultForDiskEncryption: false
    publicNetworkAccess: 'Enabled'
  }
}

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.16.1' = {
  name: 'logAnalytics'
  scope: rg
  params: {
    name: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    location: location
    tags: tags
    dataRetention: 30
    features: {
      disableLocalAuth: true
    }
  }
}

module monitoring 'br/public:avm/res/insights/component:0.8.0' = {
  name: 'monitoring'
  scope: rg
  params: {
    name: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    // Telemetry is accepted only with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
    disableLocalAuth: true
    // Keep client IP addresses out of telemetry: the service has no use for them.
    disableIpMasking: false
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: apiName
    location: location
    tags: tags
    appServicePlanId: appServicePlan.outputs.resourceId
    identityId: apiIdentity.outputs.resourceId
    identityClientId: apiIdentity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentStorageContainerName: deploymentStorageContainerName
    applicationInsightsName: monitoring.outputs.name
    keyVaultUri: keyVault.outputs.uri
    frontendOrigin: frontendOrigin
    clerkIssuer: clerkIssuer
    clerkJwksUrl: clerkJwksUrl
    clerkJwtKey: clerkJwtKey
    logLevel: logLevel
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
  // The app starts only once its identity may read storage and Key Vault, so its first start
  // does not fail on a 403 while the role assignments are still being created.
  dependsOn: [
    rbac
  ]
}

// Roles for the app's identity only; nobody else gets data access from this template.
module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: apiIdentity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.name
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = 'https://${api.outputs.defaultHostname}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = apiIdentity.outputs.clientId
