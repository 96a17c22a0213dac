-- Argo CD health of a cutover.dev RollbackPolicy (resource.customizations.health.cutover.dev_RollbackPolicy).
-- Lua 5.1 as gopher-lua runs it in Argo CD. Degraded while its Prometheus does
-- not answer (Stalled=True): every Release using it is then Inconclusive.
local hs = {}

local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function says(c)
  if c == nil then
    return ""
  end
  return (c.reason or "") .. ": " .. (c.message or "")
end

local status = obj.status
local generation = obj.metadata.generation
if status == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to pick up the RollbackPolicy"
  return hs
end
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to act on generation " .. generation
  return hs
end

local ready = condition("Ready")
local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = says(stalled)
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = says(ready)
  return hs
end
hs.status = "Progressing"
hs.message = says(ready)
return hs
