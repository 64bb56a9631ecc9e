-- wrk script: each request is 16 pipelined GETs of the URL's path (run_http.sh).
init = function(args)
   local r = {}
   for i = 1, 16 do
      r[i] = wrk.format(nil)
   end
   req = table.concat(r)
end

request = function()
   return req
end
